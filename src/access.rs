//! Who may see and do what (ANONYMITY.md §7), in one place: a pure
//! function of a viewer and a resource, [`decide`]. Every route, export and
//! API answer asks it (the web layer's extractors for the role-wide
//! resources, the handlers for one group's results or plan), and the
//! result lists ([`openable`]) are filtered through it. A new role is a new
//! field of [`Viewer`] and a rule here; nothing else decides.
//!
//! What the rules hold today:
//!
//! | viewer | may |
//! |---|---|
//! | nobody | public pages only |
//! | anyone with a results link | the released results of the group the link names, or of the nearest shown group above it (the "results are ready" message every invited employee gets after close) |
//! | unit leader | while a round runs, the response counts of the units they lead (rows of at least k invited); the results of the units they lead and everything below them (hidden groups as "too few answers"), with the levels above only as comparison figures inside those reports; add to and complete the action plans of those units; the follow-up of those units (absence against targets, accounts, measures, effects), setting their own targets and entering their measures |
//! | verneombud, tillitsvalgt | read-only, for the units they represent and everything below them: the results, the measures and the follow-up (no plans added, no targets set, no measures entered) |
//! | AMU member | every group's results, the AMU analysis and its exports, the plans of every unit (read); the follow-up of every unit, its targets and measures, the overview of units above target, the effect of measures and the reports |
//! | administrator | what an AMU member may, and the administration (rounds, sending, imports, raising k, the catalogue of measure types), and every unit's response counts while a round runs |
//!
//! Roles add up: a leader who is also an AMU member may open every group
//! and edit the plans of their own units.

use crate::ids::{EmployeeId, GroupKey, UnitId};
use crate::lang::Lang;
use crate::snapshot::model::{Group, Snapshot, ORGANISATION};

/// A signed-in person and what they may see. Built by [`crate::auth`] from
/// the session, with the roles as they are in the database now.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub employee_id: EmployeeId,
    pub name: String,
    pub lang: Lang,
    /// Units they lead (each with everything below it).
    pub leader_of: Vec<UnitId>,
    /// Units they represent as verneombud or tillitsvalgt (each with
    /// everything below it): read-only.
    pub represents: Vec<UnitId>,
    pub verneombud: bool,
    pub tillitsvalgt: bool,
    pub amu: bool,
    pub admin: bool,
    /// The token every state-changing form must carry.
    pub csrf: String,
}

impl Viewer {
    /// AMU members and administrators see the whole organisation.
    pub fn sees_everything(&self) -> bool {
        self.amu || self.admin
    }

    /// The units they represent, as long as they hold a role that
    /// represents units (verneombud, tillitsvalgt): without one, none.
    pub fn represented(&self) -> &[UnitId] {
        if self.verneombud || self.tillitsvalgt {
            &self.represents
        } else {
            &[]
        }
    }

    /// The operator at the command line, who may do what an administrator
    /// may (and no more).
    pub fn administrator() -> Viewer {
        Viewer {
            employee_id: EmployeeId::from("operator"),
            name: String::new(),
            lang: Lang::Nb,
            leader_of: Vec::new(),
            represents: Vec::new(),
            verneombud: false,
            tillitsvalgt: false,
            amu: false,
            admin: true,
            csrf: String::new(),
        }
    }
}

/// Whether a person with these roles may sign in at all: there is nothing
/// to see for anyone else.
pub fn may_sign_in(leads_units: bool, represents_units: bool, amu: bool, admin: bool) -> bool {
    leads_units || represents_units || amu || admin
}

/// The group a results link shows: the one it names if shown, else the
/// nearest shown group above it; None when nothing above it is shown.
pub fn linked_group<'a>(snapshot: &'a Snapshot, linked: &str) -> Option<&'a Group> {
    snapshot
        .path(linked)
        .into_iter()
        .rev()
        .find(|g| g.figures.is_some())
}

/// What a request asks for.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// The list of closed rounds with the groups one may open (the
    /// results index and `GET /api/v1/rounds`).
    ResultsIndex,
    /// One group's results: page, print version, CSV, XLSX and JSON.
    GroupResults {
        snapshot: &'a Snapshot,
        group: &'a GroupKey,
    },
    /// A group's results through a results link naming `linked`: no
    /// sign-in, only that group or the nearest shown one above it.
    LinkedResults {
        snapshot: &'a Snapshot,
        linked: &'a GroupKey,
        group: &'a GroupKey,
    },
    /// Adding to or completing the action plan of a group.
    GroupPlan {
        snapshot: &'a Snapshot,
        group: &'a GroupKey,
    },
    /// The AMU analysis, its report, exports and API, and the plans of
    /// every unit; the follow-up across units (units above target, the
    /// effect of measures, the tertial and IA reports).
    Overview,
    /// One unit's follow-up: its absence against its targets, its
    /// accounts, measures and their effects. `path` runs from the root to
    /// the unit.
    UnitFollowUp { path: &'a [UnitId] },
    /// Setting a unit's own target, entering or changing its measures.
    EditFollowUp { path: &'a [UnitId] },
    /// The register of measures, as far as the viewer reaches.
    Register,
    /// An open round's response counts (never results) of one unit's row
    /// ([`crate::rounds::live`]): `path` runs from the root to the unit.
    ResponseCounts { path: &'a [UnitId] },
    /// Rounds, sending, imports, raising k.
    Administration,
    /// Ending one's own session.
    OwnSession,
}

/// The answer, which the web layer turns into 401 and 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Nobody is signed in: sign in first.
    SignIn,
    /// Signed in, but not allowed.
    Refused,
}

/// Whether `viewer` (None: nobody signed in) may have `resource`.
pub fn decide(viewer: Option<&Viewer>, resource: Resource) -> Decision {
    // A results link is the one thing open without signing in: whoever
    // holds it, signed in or not, sees the group it resolves to.
    if let Resource::LinkedResults {
        snapshot,
        linked,
        group,
    } = resource
    {
        return match linked_group(snapshot, linked) {
            Some(g) if g.key == group.as_str() => Decision::Allowed,
            _ => Decision::Refused,
        };
    }
    let Some(v) = viewer else {
        return Decision::SignIn;
    };
    let leads =
        |snapshot: &Snapshot, group: &str| v.leader_of.iter().any(|u| snapshot.is_within(group, u));
    let represented = v.represented();
    let represents =
        |snapshot: &Snapshot, group: &str| represented.iter().any(|u| snapshot.is_within(group, u));
    let allowed = match resource {
        Resource::ResultsIndex | Resource::OwnSession => true,
        Resource::LinkedResults { .. } => unreachable!("decided above"),
        Resource::GroupResults { snapshot, group } => {
            snapshot.group(group).is_some()
                && (v.sees_everything() || leads(snapshot, group) || represents(snapshot, group))
        }
        // Plans belong to units, so a leader plans for their own units,
        // never for the organisation as a whole; AMU and administrators
        // read them.
        Resource::GroupPlan { snapshot, group } => {
            snapshot.group(group).is_some()
                && group.as_str() != ORGANISATION
                && leads(snapshot, group)
        }
        Resource::Overview => v.sees_everything(),
        // Leaders follow up the units they lead and everything below them,
        // representatives read that of the units they represent; AMU and
        // administrators every unit.
        Resource::UnitFollowUp { path } => {
            v.sees_everything()
                || path
                    .iter()
                    .any(|u| v.leader_of.contains(u) || represented.contains(u))
        }
        Resource::EditFollowUp { path } => {
            v.sees_everything() || path.iter().any(|u| v.leader_of.contains(u))
        }
        Resource::Register => {
            v.sees_everything() || !v.leader_of.is_empty() || !represented.is_empty()
        }
        // Leaders follow the response rate of their own units while a
        // round runs; administrators every unit's.
        Resource::ResponseCounts { path } => {
            v.admin || path.iter().any(|u| v.leader_of.contains(u))
        }
        Resource::Administration => v.admin,
    };
    if allowed {
        Decision::Allowed
    } else {
        Decision::Refused
    }
}

/// [`decide`] as a result: `Unauthorised` (401) or `Forbidden` (403).
pub fn require(viewer: Option<&Viewer>, resource: Resource) -> Result<(), crate::AppError> {
    match decide(viewer, resource) {
        Decision::Allowed => Ok(()),
        Decision::SignIn => Err(crate::AppError::Unauthorised),
        Decision::Refused => Err(crate::AppError::Forbidden),
    }
}

/// The groups of a snapshot a viewer may open, in tree order.
pub fn openable<'a>(viewer: &Viewer, snapshot: &'a Snapshot) -> Vec<&'a Group> {
    snapshot
        .groups
        .iter()
        .filter(|g| {
            decide(
                Some(viewer),
                Resource::GroupResults {
                    snapshot,
                    group: &GroupKey::from(g.key.as_str()),
                },
            ) == Decision::Allowed
        })
        .collect()
}

/// The kinds of signed-in viewer, for describing the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    /// Verneombud and tillitsvalgt alike.
    Representative,
    Amu,
    Admin,
}

/// How far a right reaches in the unit tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Nothing,
    /// The units they lead or represent and everything below them.
    OwnUnits,
    Everything,
}

/// What one role may, as [`decide`] answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rights {
    pub role: Role,
    pub results: Reach,
    pub plans: Reach,
    /// Units' follow-up: targets, accounts, measures, effects.
    pub follow_up: Reach,
    /// Setting targets and entering measures.
    pub edit_follow_up: Reach,
    pub overview: bool,
    pub administration: bool,
}

/// A model organisation for asking [`decide`]: root ─ a ─ a1, and b.
fn model() -> Snapshot {
    let group = |key: &str, parent: Option<&str>, depth: u32| Group {
        key: key.into(),
        code: key.into(),
        name: key.into(),
        parent: parent.map(str::to_string),
        depth,
        invited: 10,
        figures: None,
    };
    Snapshot {
        round_id: "model".into(),
        k: 5,
        computed_at: 0,
        previous_round: None,
        factors: vec![],
        items: vec![],
        groups: vec![
            group("root", None, 0),
            group("a", Some("root"), 1),
            group("a1", Some("a"), 2),
            group("b", Some("root"), 1),
        ],
        background: vec![],
        alpha: vec![],
    }
}

/// How far a viewer's follow-up (or, with `edit`, its editing) reaches
/// in the model organisation.
fn follow_up_reach(v: &Viewer, edit: bool) -> Reach {
    let path = |ids: &[&str]| -> Vec<UnitId> { ids.iter().map(|i| UnitId::from(*i)).collect() };
    let units = [
        path(&["root"]),
        path(&["root", "a"]),
        path(&["root", "a", "a1"]),
        path(&["root", "b"]),
    ];
    let allowed: Vec<bool> = units
        .iter()
        .map(|p| {
            let r = if edit {
                Resource::EditFollowUp { path: p }
            } else {
                Resource::UnitFollowUp { path: p }
            };
            decide(Some(v), r) == Decision::Allowed
        })
        .collect();
    if allowed.iter().all(|x| *x) {
        Reach::Everything
    } else if allowed.iter().any(|x| *x) {
        Reach::OwnUnits
    } else {
        Reach::Nothing
    }
}

/// Each role's rights, found by asking [`decide`] on a model organisation
/// (a leader of `a`): so that a description of the rules (the record of
/// processing) is the rules, not a copy of them.
pub fn matrix() -> Vec<Rights> {
    let s = model();
    let keys: Vec<GroupKey> = ["root", "a", "a1", "b"]
        .into_iter()
        .map(GroupKey::from)
        .collect();
    let reach = |v: &Viewer, plan: bool| -> Reach {
        let allowed: Vec<bool> = keys
            .iter()
            .map(|k| {
                let r = if plan {
                    Resource::GroupPlan {
                        snapshot: &s,
                        group: k,
                    }
                } else {
                    Resource::GroupResults {
                        snapshot: &s,
                        group: k,
                    }
                };
                decide(Some(v), r) == Decision::Allowed
            })
            .collect();
        let (a, a1, b) = (allowed[1], allowed[2], allowed[3]);
        if !allowed.iter().any(|x| *x) {
            Reach::Nothing
        } else if a && a1 && b {
            // The root may stay out: the organisation has no plan of its own.
            Reach::Everything
        } else {
            Reach::OwnUnits
        }
    };
    let a = || vec![UnitId::from("a")];
    let viewer = |leads: bool, represents: bool, amu: bool, admin: bool| Viewer {
        employee_id: EmployeeId::from("model"),
        name: String::new(),
        lang: Lang::Nb,
        leader_of: if leads { a() } else { vec![] },
        represents: if represents { a() } else { vec![] },
        verneombud: represents,
        tillitsvalgt: false,
        amu,
        admin,
        csrf: String::new(),
    };
    [
        (Role::Leader, viewer(true, false, false, false)),
        (Role::Representative, viewer(false, true, false, false)),
        (Role::Amu, viewer(false, false, true, false)),
        (Role::Admin, viewer(false, false, false, true)),
    ]
    .into_iter()
    .map(|(role, v)| Rights {
        role,
        results: reach(&v, false),
        plans: reach(&v, true),
        follow_up: follow_up_reach(&v, false),
        edit_follow_up: follow_up_reach(&v, true),
        overview: decide(Some(&v), Resource::Overview) == Decision::Allowed,
        administration: decide(Some(&v), Resource::Administration) == Decision::Allowed,
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::model::Group;

    fn group(key: &str, parent: Option<&str>, depth: u32) -> Group {
        Group {
            key: key.into(),
            code: key.into(),
            name: key.into(),
            parent: parent.map(str::to_string),
            depth,
            invited: 10,
            figures: None,
        }
    }

    /// root ─ a ─ a1
    ///      └ b
    fn snapshot(root: &str) -> Snapshot {
        Snapshot {
            round_id: "r".into(),
            k: 5,
            computed_at: 0,
            previous_round: None,
            factors: vec![],
            items: vec![],
            groups: vec![
                group(root, None, 0),
                group("a", Some(root), 1),
                group("a1", Some("a"), 2),
                group("b", Some(root), 1),
            ],
            background: vec![],
            alpha: vec![],
        }
    }

    fn viewer(leads: &[&str], amu: bool, admin: bool) -> Viewer {
        Viewer {
            employee_id: EmployeeId::from("e"),
            name: "E".into(),
            lang: Lang::Nb,
            leader_of: leads.iter().map(|s| UnitId::from(*s)).collect(),
            represents: vec![],
            verneombud: false,
            tillitsvalgt: false,
            amu,
            admin,
            csrf: "t".into(),
        }
    }

    fn representative(of: &[&str]) -> Viewer {
        Viewer {
            represents: of.iter().map(|s| UnitId::from(*s)).collect(),
            tillitsvalgt: true,
            ..viewer(&[], false, false)
        }
    }

    #[test]
    fn every_resource_for_every_kind_of_viewer() {
        use Decision::{Allowed as Y, Refused as N, SignIn as S};
        let s = snapshot("root");
        let org = snapshot(ORGANISATION);
        let leader_a = viewer(&["a"], false, false);
        let leader_b = viewer(&["b"], false, false);
        let amu = viewer(&[], true, false);
        let admin = viewer(&[], false, true);
        let amu_leader_a = viewer(&["a"], true, false);
        let rep_a = representative(&["a"]);
        let viewers: [(&str, Option<&Viewer>); 7] = [
            ("nobody", None),
            ("leader of a", Some(&leader_a)),
            ("leader of b", Some(&leader_b)),
            ("amu", Some(&amu)),
            ("admin", Some(&admin)),
            ("amu and leader of a", Some(&amu_leader_a)),
            ("representative of a", Some(&rep_a)),
        ];
        let keys: Vec<GroupKey> = ["a", "a1", "b", "root", ORGANISATION, "x"]
            .into_iter()
            .map(GroupKey::from)
            .collect();
        let key = |k: &str| keys.iter().find(|x| x.as_str() == k).unwrap();
        let results = |snapshot, group: &str| Resource::GroupResults {
            snapshot,
            group: key(group),
        };
        let plan = |snapshot, group: &str| Resource::GroupPlan {
            snapshot,
            group: key(group),
        };
        // Shown: the root and a; hidden: a1 and b.
        let mut shown = snapshot("root");
        for g in &mut shown.groups {
            if g.key == "root" || g.key == "a" {
                g.figures = Some(crate::snapshot::model::Figures {
                    n: 10,
                    factors: vec![],
                    items: vec![],
                });
            }
        }
        let link = |linked: &str, group: &str| Resource::LinkedResults {
            snapshot: &shown,
            linked: key(linked),
            group: key(group),
        };
        let path = |ids: &[&str]| -> Vec<UnitId> { ids.iter().map(|i| UnitId::from(*i)).collect() };
        let (proot, pa, pa1, pb) = (
            path(&["root"]),
            path(&["root", "a"]),
            path(&["root", "a", "a1"]),
            path(&["root", "b"]),
        );
        #[rustfmt::skip]
        let table: Vec<(&str, Resource, [Decision; 7])> = vec![
            //                                   nobody leader-a leader-b amu admin amu+a rep-a
            ("results index", Resource::ResultsIndex,        [S, Y, Y, Y, Y, Y, Y]),
            ("own session",   Resource::OwnSession,          [S, Y, Y, Y, Y, Y, Y]),
            ("results of a",  results(&s, "a"),              [S, Y, N, Y, Y, Y, Y]),
            ("results of a1", results(&s, "a1"),             [S, Y, N, Y, Y, Y, Y]),
            ("results of b",  results(&s, "b"),              [S, N, Y, Y, Y, Y, N]),
            ("results of the root", results(&s, "root"),     [S, N, N, Y, Y, Y, N]),
            ("results of the organisation", results(&org, ORGANISATION), [S, N, N, Y, Y, Y, N]),
            ("results of a group not in it", results(&s, "x"), [S, N, N, N, N, N, N]),
            ("a's link, a",   link("a", "a"),                [Y, Y, Y, Y, Y, Y, Y]),
            ("a1's link, a (shown above hidden a1)", link("a1", "a"), [Y, Y, Y, Y, Y, Y, Y]),
            ("a1's link, a1 (hidden)", link("a1", "a1"),     [N, N, N, N, N, N, N]),
            ("a1's link, the root (not the nearest)", link("a1", "root"), [N, N, N, N, N, N, N]),
            ("b's link, the root", link("b", "root"),        [Y, Y, Y, Y, Y, Y, Y]),
            ("b's link, a (not above b)", link("b", "a"),    [N, N, N, N, N, N, N]),
            ("plan of a",     plan(&s, "a"),                 [S, Y, N, N, N, Y, N]),
            ("plan of a1",    plan(&s, "a1"),                [S, Y, N, N, N, Y, N]),
            ("plan of b",     plan(&s, "b"),                 [S, N, Y, N, N, N, N]),
            ("plan of the root", plan(&s, "root"),           [S, N, N, N, N, N, N]),
            ("plan of the organisation", plan(&org, ORGANISATION), [S, N, N, N, N, N, N]),
            ("overview",      Resource::Overview,            [S, N, N, Y, Y, Y, N]),
            ("administration", Resource::Administration,     [S, N, N, N, Y, N, N]),
            ("follow-up of a",  Resource::UnitFollowUp { path: &pa },  [S, Y, N, Y, Y, Y, Y]),
            ("follow-up of a1", Resource::UnitFollowUp { path: &pa1 }, [S, Y, N, Y, Y, Y, Y]),
            ("follow-up of b",  Resource::UnitFollowUp { path: &pb },  [S, N, Y, Y, Y, Y, N]),
            ("follow-up of the root", Resource::UnitFollowUp { path: &proot }, [S, N, N, Y, Y, Y, N]),
            ("editing a's follow-up", Resource::EditFollowUp { path: &pa }, [S, Y, N, Y, Y, Y, N]),
            ("editing a1's follow-up", Resource::EditFollowUp { path: &pa1 }, [S, Y, N, Y, Y, Y, N]),
            ("editing the root's follow-up", Resource::EditFollowUp { path: &proot }, [S, N, N, Y, Y, Y, N]),
            ("the register",    Resource::Register,          [S, Y, Y, Y, Y, Y, Y]),
            ("counts of a",     Resource::ResponseCounts { path: &pa },  [S, Y, N, N, Y, Y, N]),
            ("counts of a1",    Resource::ResponseCounts { path: &pa1 }, [S, Y, N, N, Y, Y, N]),
            ("counts of the root", Resource::ResponseCounts { path: &proot }, [S, N, N, N, Y, N, N]),
        ];
        let mut wrong = Vec::new();
        for (what, resource, expected) in &table {
            for ((who, v), want) in viewers.iter().zip(expected) {
                let got = decide(*v, *resource);
                if got != *want {
                    wrong.push(format!("{what} for {who}: {got:?}, expected {want:?}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn represented_units_without_the_role_give_nothing() {
        let s = snapshot("root");
        let a = GroupKey::from("a");
        let pa = [UnitId::from("root"), UnitId::from("a")];
        let former = Viewer {
            tillitsvalgt: false,
            ..representative(&["a"])
        };
        for r in [
            Resource::GroupResults {
                snapshot: &s,
                group: &a,
            },
            Resource::UnitFollowUp { path: &pa },
            Resource::Register,
        ] {
            assert_eq!(decide(Some(&former), r), Decision::Refused);
            assert_eq!(decide(Some(&representative(&["a"])), r), Decision::Allowed);
        }
        assert!(former.represented().is_empty());
    }

    #[test]
    fn the_matrix_is_what_decide_answers() {
        use Reach::*;
        let m = matrix();
        let rights = |role| *m.iter().find(|r| r.role == role).unwrap();
        assert_eq!(
            rights(Role::Leader),
            Rights {
                role: Role::Leader,
                results: OwnUnits,
                plans: OwnUnits,
                follow_up: OwnUnits,
                edit_follow_up: OwnUnits,
                overview: false,
                administration: false
            }
        );
        assert_eq!(
            rights(Role::Representative),
            Rights {
                role: Role::Representative,
                results: OwnUnits,
                plans: Nothing,
                follow_up: OwnUnits,
                edit_follow_up: Nothing,
                overview: false,
                administration: false
            }
        );
        assert_eq!(
            rights(Role::Amu),
            Rights {
                role: Role::Amu,
                results: Everything,
                plans: Nothing,
                follow_up: Everything,
                edit_follow_up: Everything,
                overview: true,
                administration: false
            }
        );
        assert_eq!(
            rights(Role::Admin),
            Rights {
                role: Role::Admin,
                results: Everything,
                plans: Nothing,
                follow_up: Everything,
                edit_follow_up: Everything,
                overview: true,
                administration: true
            }
        );
    }

    #[test]
    fn the_openable_groups_are_the_allowed_ones_in_tree_order() {
        let s = snapshot("root");
        let keys = |v: &Viewer| {
            openable(v, &s)
                .iter()
                .map(|g| g.key.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&viewer(&["a"], false, false)), ["a", "a1"]);
        assert_eq!(keys(&viewer(&["b", "a1"], false, false)), ["a1", "b"]);
        assert_eq!(keys(&viewer(&[], true, false)), ["root", "a", "a1", "b"]);
        assert_eq!(keys(&representative(&["a"])), ["a", "a1"]);
        assert!(may_sign_in(true, false, false, false) && may_sign_in(false, true, false, false));
        assert!(!may_sign_in(false, false, false, false));
    }
}
