//! The organisation as the follow-up sees it: every unit, closed ones
//! too (old absence names them), as one tree with parents before children.

use crate::db::schema::units;
use crate::db::DbConnection;
use crate::ids::UnitId;
use crate::AppError;
use diesel::prelude::*;

#[derive(Debug, Clone)]
pub struct OrgUnit {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    pub parent: Option<usize>,
    pub depth: u32,
    pub active: bool,
}

/// Units in tree order: each parent before its children, siblings by code.
#[derive(Debug, Clone, Default)]
pub struct OrgTree {
    pub units: Vec<OrgUnit>,
    index: foldhash::HashMap<String, usize>,
}

impl OrgTree {
    pub fn load(conn: &mut DbConnection) -> Result<OrgTree, AppError> {
        // In the table's order: [`OrgTree::from_rows`] orders siblings by
        // code itself (PostgreSQL's ORDER BY sorts by the database's
        // collation, ~3 ms for 3 000 units, and was sorted again here).
        let rows: Vec<(String, String, Option<String>, String, bool)> = units::table
            .select((
                units::id,
                units::code,
                units::parent_id,
                units::name,
                units::active,
            ))
            .load(conn)?;
        OrgTree::from_rows(rows)
    }

    /// From (id, code, parent id, name, active), in any order.
    pub fn from_rows(
        rows: Vec<(String, String, Option<String>, String, bool)>,
    ) -> Result<OrgTree, AppError> {
        let by_id: foldhash::HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.0.as_str(), i))
            .collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
        let mut roots = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            match r.2.as_deref().and_then(|p| by_id.get(p)) {
                Some(&p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        let by_code = |a: &usize, b: &usize| rows[*a].1.cmp(&rows[*b].1);
        roots.sort_by(by_code);
        for c in &mut children {
            c.sort_by(by_code);
        }
        let mut tree = OrgTree::default();
        // Depth first, so that a parent always comes before its children.
        let mut stack: Vec<(usize, Option<usize>, u32)> =
            roots.iter().rev().map(|&r| (r, None, 0)).collect();
        while let Some((i, parent, depth)) = stack.pop() {
            let at = tree.units.len();
            let r = &rows[i];
            tree.units.push(OrgUnit {
                id: UnitId::from(r.0.as_str()),
                code: r.1.clone(),
                name: r.3.clone(),
                parent,
                depth,
                active: r.4,
            });
            tree.index.insert(r.0.clone(), at);
            for &c in children[i].iter().rev() {
                stack.push((c, Some(at), depth + 1));
            }
        }
        if tree.units.len() != rows.len() {
            return Err(AppError::damaged("the unit tree has a cycle"));
        }
        Ok(tree)
    }

    pub fn get(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn by_code(&self, code: &str) -> Option<usize> {
        self.units.iter().position(|u| u.code == code)
    }

    /// The units from the root down to `i`, both included.
    pub fn path(&self, i: usize) -> Vec<usize> {
        let mut out = vec![i];
        let mut at = i;
        while let Some(p) = self.units[at].parent {
            out.push(p);
            at = p;
        }
        out.reverse();
        out
    }

    /// The ids of [`OrgTree::path`], for the access rules.
    pub fn path_ids(&self, i: usize) -> Vec<UnitId> {
        self.path(i)
            .into_iter()
            .map(|u| self.units[u].id.clone())
            .collect()
    }

    /// The service area of `i`: its ancestor just below the root (itself
    /// when it is one, the root for the root).
    pub fn area(&self, i: usize) -> usize {
        let path = self.path(i);
        path.get(1).copied().unwrap_or(path[0])
    }

    /// Whether `i` is `ancestor` or lies below it.
    pub fn is_within(&self, i: usize, ancestor: usize) -> bool {
        self.path(i).contains(&ancestor)
    }

    /// The tree as the absence engine takes it: (key, code, parent).
    pub fn as_nodes(&self) -> Vec<(&str, &str, Option<usize>)> {
        self.units
            .iter()
            .map(|u| (u.id.as_str(), u.code.as_str(), u.parent))
            .collect()
    }

    /// The roots (one per organisation; a database holds one).
    pub fn roots(&self) -> Vec<usize> {
        (0..self.units.len())
            .filter(|i| self.units[*i].parent.is_none())
            .collect()
    }
}
