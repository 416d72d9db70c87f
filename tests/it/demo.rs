use crate::both_backends;
use naervaer::db::models::{Employee, Unit};
use naervaer::demo;

#[test]
fn the_demo_is_the_same_every_time_and_shaped_like_a_municipality() {
    let a = demo::generate(demo::SEED);
    let b = demo::generate(demo::SEED);
    assert_eq!(
        a.employees_csv, b.employees_csv,
        "a fixed seed gives the same municipality"
    );
    assert_ne!(
        a.employees_csv,
        demo::generate(demo::SEED + 1).employees_csv
    );
    assert_eq!(a.employees, 800);
    let areas = demo::UNITS.iter().filter(|u| u.1 == "1000").count();
    assert_eq!(areas, 4);
    assert!(demo::UNITS.len() >= 40);
    let leaves_small = demo::UNITS
        .iter()
        .filter(|u| (1..=4).contains(&u.3))
        .count();
    assert!(leaves_small >= 5, "units of one to four people must exist");
    assert!(demo::UNITS.iter().any(|u| u.3 >= 50), "and large ones");
}

both_backends! {
    fn the_demo_loads_through_the_importers(t) {
        let mut c = t.conn();
        demo::seed(&mut c).unwrap();
        assert_eq!(Unit::all(&mut c).unwrap().len(), demo::UNITS.len());
        let people = Employee::all(&mut c).unwrap();
        assert_eq!(people.len(), 800);
        let mut amu = 0;
        let mut admin = 0;
        let mut multi_leader = 0;
        for p in &people {
            let roles = Employee::roles(&mut c, &p.id).unwrap();
            amu += roles.iter().filter(|r| *r == "amu").count();
            admin += roles.iter().filter(|r| *r == "admin").count();
            if Employee::led_unit_ids(&mut c, &p.id).unwrap().len() > 1 {
                multi_leader += 1;
            }
        }
        assert_eq!((amu, admin), (6, 2));
        assert!(multi_leader >= 2, "some people lead several units");
        assert!(people.iter().any(|p| p.email.is_none()), "some get paper letters");
        assert!(people.iter().any(|p| p.language == "nn") && people.iter().any(|p| p.language == "en"));
    }
}
