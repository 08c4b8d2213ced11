//! The store contract: every store operation behaves the same on SQLite and PostgreSQL.

mod common;

use yingji::audit::{self, Actor, AuditFilter};
use yingji::auth::Scope;
use yingji::db::{DbError, Sql};
use yingji::paging::Paging;
use yingji::registry::model::HazardFlag;
use yingji::registry::store::{self, EnterpriseFilter, FacilityFilter};

#[tokio::test]
async fn units_upsert_idempotently_and_report_scoped_counts() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_units(&t.db).await; // a second upsert changes nothing
        assert_eq!(store::count_units(&t.db).await.expect("count"), 38);
        let towns = store::town_codes(&t.db).await.expect("codes");
        assert_eq!(towns.len(), 37);
        assert!(!towns.contains(yingji::DISTRICT_CODE));
        let all = store::list_units(&t.db, &Scope::District)
            .await
            .expect("units");
        let a = all.iter().find(|u| u.code == common::TOWN_A).expect("A");
        assert_eq!(
            (a.enterprise_count, a.hazchem_count, a.facility_count),
            (2, 2, 1)
        );
        let scoped = store::list_units(&t.db, &Scope::Enterprise(f.a1.clone()))
            .await
            .expect("units");
        let a = scoped.iter().find(|u| u.code == common::TOWN_A).expect("A");
        assert_eq!((a.enterprise_count, a.facility_count), (1, 0));
        let geoms = store::unit_geometries(&t.db, true).await.expect("district");
        assert_eq!(geoms.len(), 1);
        assert!(
            geoms[0]
                .geometry
                .as_deref()
                .is_some_and(|g| g.contains("MultiPolygon"))
        );
        t.db.ping().await.expect("ping");
    });
}

#[tokio::test]
async fn enterprises_round_trip_every_field_and_filter_alike() {
    each_backend!(|t| {
        common::seed_units(&t.db).await;
        let mut e = common::enterprise_input(7, common::TOWN_A, "天津某某化工有限公司");
        e.flags = vec![HazardFlag::HazchemProduction, HazardFlag::ConfinedSpace];
        e.lon = Some(117.123456789);
        e.industry_division = None;
        let id = common::insert_enterprise(&t.db, &e).await;
        let got = store::get_enterprise(&t.db, &id)
            .await
            .expect("db")
            .expect("found");
        assert_eq!(got.input(), e, "every stored field comes back");
        assert_eq!(got.town_name, "杨村街道");
        assert_eq!(got.industry_name, "制造业");

        let mut changed = e.clone();
        changed.name = "天津某某新材料有限公司".into();
        changed.flags = vec![];
        changed.staff_count = None;
        let mut tx = t.db.begin().await.expect("begin");
        assert_eq!(
            store::update_enterprise(&mut tx, &id, &changed)
                .await
                .expect("update"),
            1
        );
        tx.commit().await.expect("commit");
        let got = store::get_enterprise(&t.db, &id)
            .await
            .expect("db")
            .expect("found");
        assert_eq!(got.input(), changed);

        let filter = |q: &str| EnterpriseFilter {
            q: Some(q.into()),
            ..Default::default()
        };
        let page = store::list_enterprises(
            &t.db,
            &Scope::District,
            &filter("新材料"),
            Some(Paging::default()),
        )
        .await
        .expect("list");
        assert_eq!(page.total, 1);
        let page = store::list_enterprises(
            &t.db,
            &Scope::District,
            &filter(&e.credit_code.to_lowercase()),
            None,
        )
        .await
        .expect("list");
        assert_eq!(page.total, 1, "credit code search ignores case");
        let page = store::list_enterprises(
            &t.db,
            &Scope::Town(common::TOWN_B.into()),
            &Default::default(),
            None,
        )
        .await
        .expect("list");
        assert_eq!(page.total, 0);

        let mut tx = t.db.begin().await.expect("begin");
        assert_eq!(
            store::enterprise_id_by_credit_code(&mut tx, &e.credit_code)
                .await
                .expect("db"),
            Some(id.clone())
        );
        assert_eq!(
            store::delete_enterprise(&mut tx, &id)
                .await
                .expect("delete"),
            1
        );
        tx.commit().await.expect("commit");
        assert!(
            store::get_enterprise(&t.db, &id)
                .await
                .expect("db")
                .is_none()
        );
    });
}

#[tokio::test]
async fn a_duplicate_credit_code_is_reported_as_a_unique_violation_on_both_backends() {
    each_backend!(|t| {
        common::seed_units(&t.db).await;
        let e = common::enterprise_input(8, common::TOWN_A, "甲");
        common::insert_enterprise(&t.db, &e).await;
        let mut tx = t.db.begin().await.expect("begin");
        let err: DbError = store::insert_enterprise(&mut tx, "other-id", &e)
            .await
            .expect_err("duplicate");
        let constraint = err.unique_violation().expect("a unique violation");
        assert!(constraint.contains("credit_code"), "{constraint}");
    });
}

#[tokio::test]
async fn a_transaction_dropped_without_commit_writes_nothing() {
    each_backend!(|t| {
        common::seed_units(&t.db).await;
        {
            let mut tx = t.db.begin().await.expect("begin");
            store::insert_enterprise(
                &mut tx,
                "x1",
                &common::enterprise_input(30, common::TOWN_A, "甲"),
            )
            .await
            .expect("insert");
            store::insert_enterprise(
                &mut tx,
                "x2",
                &common::enterprise_input(31, common::TOWN_A, "乙"),
            )
            .await
            .expect("insert");
        }
        assert_eq!(store::count_enterprises(&t.db).await.expect("count"), 0);
    });
}

#[tokio::test]
async fn facilities_round_trip_and_match_by_town_and_name() {
    each_backend!(|t| {
        common::seed_units(&t.db).await;
        let f = common::facility_input(common::TOWN_B, "下朱庄卫生院");
        let mut tx = t.db.begin().await.expect("begin");
        store::insert_facility(&mut tx, "f1", &f)
            .await
            .expect("insert");
        assert_eq!(
            store::facility_id_by_name(&mut tx, common::TOWN_B, "下朱庄卫生院")
                .await
                .expect("db"),
            Some("f1".into())
        );
        assert_eq!(
            store::facility_id_by_name(&mut tx, common::TOWN_A, "下朱庄卫生院")
                .await
                .expect("db"),
            None
        );
        tx.commit().await.expect("commit");
        let got = store::get_facility(&t.db, "f1")
            .await
            .expect("db")
            .expect("found");
        assert_eq!(got.input(), f);
        let list = store::list_facilities(
            &t.db,
            &Scope::Town(common::TOWN_B.into()),
            &FacilityFilter {
                kind: Some("school".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("list");
        assert_eq!(list.total, 1);
        let pts = store::facility_points(
            &t.db,
            &Scope::Town(common::TOWN_A.into()),
            &Default::default(),
        )
        .await
        .expect("points");
        assert!(pts.is_empty());
    });
}

#[tokio::test]
async fn users_sessions_and_lockout_counters_behave_alike() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let u = yingji::auth::store::get_user_by_name(&t.db, "town")
            .await
            .expect("db")
            .expect("user");
        assert_eq!(u.scope_name.as_deref(), Some("杨村街道"));
        let now = yingji::db::now_ms();
        let (n, locked) = yingji::auth::store::record_failed_login(&t.db, &u.id, now, 2, 60_000)
            .await
            .expect("fail");
        assert_eq!((n, locked), (1, None));
        let (_, locked) = yingji::auth::store::record_failed_login(&t.db, &u.id, now, 2, 60_000)
            .await
            .expect("fail");
        assert_eq!(locked, Some(now + 60_000));
        let row = yingji::auth::store::login_row(&t.db, "town")
            .await
            .expect("db")
            .expect("row");
        assert_eq!(row.locked_until, Some(now + 60_000));
        yingji::auth::store::create_session(&t.db, &u.id, "hash-1", now, now + 1000)
            .await
            .expect("session");
        let cu = yingji::auth::store::user_by_token(&t.db, "hash-1", now)
            .await
            .expect("db")
            .expect("user");
        assert_eq!(cu.scope(), Scope::Town(common::TOWN_A.into()));
        assert!(
            yingji::auth::store::user_by_token(&t.db, "hash-1", now + 1000)
                .await
                .expect("db")
                .is_none(),
            "expired"
        );
        let (users, total) = yingji::auth::store::list_users(&t.db, 2, 0)
            .await
            .expect("list");
        assert_eq!((users.len(), total), (2, 6));
    });
}

#[tokio::test]
async fn the_audit_log_filters_by_entity_user_action_and_time() {
    each_backend!(|t| {
        let actor = Actor::system("tester");
        let mut tx = t.db.begin().await.expect("begin");
        for (entity, action) in [
            ("enterprise", "create"),
            ("enterprise", "update"),
            ("facility", "delete"),
        ] {
            audit::record(
                &mut tx,
                &actor,
                entity,
                "id1",
                action,
                None,
                Some(&serde_json::json!({"k": "值"})),
            )
            .await
            .expect("record");
        }
        tx.commit().await.expect("commit");
        let p = Paging::default();
        let all = audit::list(&t.db, &AuditFilter::default(), p)
            .await
            .expect("list");
        assert_eq!(all.total, 3);
        assert_eq!(all.items[0].after.as_ref().expect("after")["k"], "值");
        let f = AuditFilter {
            entity: Some("enterprise".into()),
            action: Some("update".into()),
            user: Some("tester".into()),
            ..Default::default()
        };
        assert_eq!(audit::list(&t.db, &f, p).await.expect("list").total, 1);
        let future = AuditFilter {
            from: Some("2999-01-01T00:00:00+08:00".into()),
            ..Default::default()
        };
        assert_eq!(audit::list(&t.db, &future, p).await.expect("list").total, 0);
        let n: i64 =
            t.db.fetch_scalar(
                &Sql::new("SELECT COUNT(*) FROM audit_log WHERE username = $1").bind("tester"),
            )
            .await
            .expect("count");
        assert_eq!(n, 3);
    });
}

#[tokio::test]
async fn the_demo_seed_fills_an_empty_store_once() {
    each_backend!(|t| {
        assert!(!yingji::demo::is_demo_store(&t.db).await.expect("db"));
        let r = yingji::demo::seed_if_empty(&t.db).await.expect("seed");
        assert!(r.seeded);
        assert!(yingji::demo::is_demo_store(&t.db).await.expect("db"));
        assert_eq!(r.enterprises, 1528);
        assert_eq!(store::count_enterprises(&t.db).await.expect("count"), 1528);
        let hazchem = store::list_enterprises(
            &t.db,
            &Scope::District,
            &EnterpriseFilter {
                flag: Some("hazchem".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("list");
        assert_eq!(hazchem.total, 145);
        // Every hazardous-chemical enterprise is monitored, with 20–60 sensors.
        let per_enterprise: Vec<(String, i64)> =
            t.db.fetch_all(&Sql::new(
                "SELECT enterprise_id, COUNT(*) FROM sensors GROUP BY enterprise_id",
            ))
            .await
            .expect("count");
        assert_eq!(per_enterprise.len(), 145);
        assert!(per_enterprise.iter().all(|(_, n)| (20..=60).contains(n)));
        let sensors: i64 = per_enterprise.iter().map(|(_, n)| n).sum();
        assert_eq!(r.sensors as i64, sensors);
        let again = yingji::demo::seed_if_empty(&t.db).await.expect("seed");
        assert!(!again.seeded);
        assert_eq!(again.sensors, 0, "sensors are seeded once");
        // A demo store seeded before the demo had sensors gets them at its next start.
        t.db.execute(&Sql::new("DELETE FROM sensors"))
            .await
            .expect("delete");
        let again = yingji::demo::seed_if_empty(&t.db).await.expect("seed");
        assert_eq!((again.seeded, again.sensors), (false, r.sensors));
        // The printed gateway token works, and only the latest one.
        let (_, first) = yingji::demo::demo_gateway_token(&t.db)
            .await
            .expect("token")
            .expect("a demo enterprise");
        let (_, second) = yingji::demo::demo_gateway_token(&t.db)
            .await
            .expect("token")
            .expect("a demo enterprise");
        let of = |token: String| {
            let db = t.db.clone();
            async move {
                yingji::monitor::sensors::enterprise_of_token(&db, &token)
                    .await
                    .expect("db")
            }
        };
        let (demo_enterprise, _) = yingji::demo::demo_enterprise(&t.db)
            .await
            .expect("db")
            .expect("a demo enterprise");
        assert_eq!(of(second).await, Some(demo_enterprise));
        assert_eq!(
            of(first).await,
            None,
            "the previous start's token is revoked"
        );
        let accounts = yingji::demo::ensure_demo_accounts(&t.db, "demo-password")
            .await
            .expect("accounts");
        assert_eq!(accounts.len(), 6);
        yingji::demo::ensure_demo_accounts(&t.db, "other-password")
            .await
            .expect("accounts again");
        let row = yingji::auth::store::login_row(&t.db, "enterprise")
            .await
            .expect("db")
            .expect("row");
        assert!(
            yingji::auth::password::verify("other-password", &row.password_hash),
            "the printed password always works"
        );
    });
}

#[tokio::test]
async fn the_demo_adds_no_sensors_to_a_store_it_did_not_seed() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let unit: yingji::hazard::model::HazardUnitInput = serde_json::from_value(serde_json::json!({
            "enterprise_id": f.a1, "name": "1号罐区", "kind": "storage", "exposed_population": 10,
            "substances": [{"name": "甲醇", "quantity_t": 100}],
            "equipment": [{"name": "101#储罐", "kind": "tank", "capacity": "500 m³"}]
        }))
        .expect("unit");
        let (unit, grading) = yingji::hazard::validate_and_grade(&unit).expect("grades");
        let mut tx = t.db.begin().await.expect("begin");
        yingji::hazard::store::save(&mut tx, &yingji::db::new_id(), &unit, &grading, false)
            .await
            .expect("save");
        tx.commit().await.expect("commit");
        let r = yingji::demo::seed_if_empty(&t.db).await.expect("seed");
        assert_eq!(
            (r.seeded, r.sensors),
            (false, 0),
            "a real store stays as it is"
        );
        assert!(!yingji::demo::is_demo_store(&t.db).await.expect("db"));
    });
}
