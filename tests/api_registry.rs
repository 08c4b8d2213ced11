//! The registry through the real HTTP API: scopes, roles, validation, import/export, audit,
//! map layers — on every backend.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

fn body_of(e: &yingji::registry::model::EnterpriseInput) -> Value {
    serde_json::to_value(e).expect("json")
}

#[tokio::test]
async fn an_enterprise_user_sees_only_its_own_enterprise() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("enterprise").await;
        let (s, own) = app.get_json(&token, &format!("/api/v1/enterprises/{}", f.a1)).await;
        assert_eq!(s, 200);
        assert_eq!(own["id"], f.a1.as_str());
        for other in [&f.a2, &f.b1] {
            let (s, body) = app.get_json(&token, &format!("/api/v1/enterprises/{other}")).await;
            assert_eq!(s, 404, "another enterprise does not exist for it");
            assert_eq!(body["error"]["code"], "not_found");
        }
        let (_, list) = app.get_json(&token, "/api/v1/enterprises").await;
        assert_eq!(list["total"], 1);
        let (_, map) = app.get_json(&token, "/api/v1/map/enterprises").await;
        assert_eq!(map["features"].as_array().expect("features").len(), 1);
        let (_, fac) = app.get_json(&token, "/api/v1/facilities").await;
        assert_eq!(fac["total"], 0, "public facilities belong to no enterprise");
        // It may edit its own record's details but not move it or re-key it.
        let mut mine = common::enterprise_input(1, common::TOWN_A, "甲一化工有限公司");
        mine.safety_phone = "022-29345678".into();
        let (s, updated) = app.send_json(Method::PUT, &token, &format!("/api/v1/enterprises/{}", f.a1), &body_of(&mine)).await;
        assert_eq!(s, 200, "{updated}");
        assert_eq!(updated["safety_phone"], "022-29345678");
        mine.town_code = common::TOWN_B.into();
        let (s, _) = app.send_json(Method::PUT, &token, &format!("/api/v1/enterprises/{}", f.a1), &body_of(&mine)).await;
        assert_eq!(s, 403);
        let other = common::enterprise_input(3, common::TOWN_B, "乙一化工有限公司");
        let (s, _) = app.send_json(Method::PUT, &token, &format!("/api/v1/enterprises/{}", f.b1), &body_of(&other)).await;
        assert_eq!(s, 404);
        let (s, _) = app.send_json(Method::POST, &token, "/api/v1/enterprises", &body_of(&common::enterprise_input(9, common::TOWN_A, "新企业"))).await;
        assert_eq!(s, 403);
        app.stop().await;
    });
}

#[tokio::test]
async fn a_town_user_cannot_edit_another_towns_records() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("town").await;
        let (_, list) = app.get_json(&token, "/api/v1/enterprises").await;
        assert_eq!(list["total"], 2, "only town A's enterprises");
        // Another town's enterprise and facility: not visible, so neither editable nor deletable.
        let b1 = common::enterprise_input(3, common::TOWN_B, "乙一化工（改名）");
        let (s, _) = app.send_json(Method::PUT, &token, &format!("/api/v1/enterprises/{}", f.b1), &body_of(&b1)).await;
        assert_eq!(s, 404);
        let r = app.client.delete(app.url(&format!("/api/v1/enterprises/{}", f.b1))).bearer_auth(&token).send().await.expect("req");
        assert_eq!(r.status(), 404);
        let fac = serde_json::to_value(common::facility_input(common::TOWN_B, "乙镇中心小学（改）")).expect("json");
        let (s, _) = app.send_json(Method::PUT, &token, &format!("/api/v1/facilities/{}", f.fac_b), &fac).await;
        assert_eq!(s, 404);
        // Creating in or moving into another town is refused by role scope.
        let (s, body) = app.send_json(Method::POST, &token, "/api/v1/enterprises", &body_of(&common::enterprise_input(10, common::TOWN_B, "新乙企业"))).await;
        assert_eq!(s, 403, "{body}");
        let moved = common::enterprise_input(2, common::TOWN_B, "甲二物流有限公司");
        let (s, _) = app.send_json(Method::PUT, &token, &format!("/api/v1/enterprises/{}", f.a2), &body_of(&moved)).await;
        assert_eq!(s, 403);
        // Its own town's records it may edit.
        let renamed = common::enterprise_input(2, common::TOWN_A, "甲二物流（天津）有限公司");
        let (s, body) = app.send_json(Method::PUT, &token, &format!("/api/v1/enterprises/{}", f.a2), &body_of(&renamed)).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["name"], "甲二物流（天津）有限公司");
        // Nothing of town B changed.
        let b = yingji::registry::store::get_enterprise(&t.db, &f.b1).await.expect("db").expect("b1");
        assert_eq!(b.name, "乙一化工有限公司");
        app.stop().await;
    });
}

#[tokio::test]
async fn read_only_roles_get_403_on_writes() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        for role in ["leader", "duty"] {
            let token = app.login(role).await;
            let (s, _) = app.get_json(&token, &format!("/api/v1/enterprises/{}", f.b1)).await;
            assert_eq!(s, 200, "{role} reads district-wide");
            let (s, body) = app.send_json(Method::POST, &token, "/api/v1/enterprises", &body_of(&common::enterprise_input(11, common::TOWN_A, "某企业"))).await;
            assert_eq!(s, 403, "{role}");
            assert_eq!(body["error"]["code"], "forbidden");
            let (s, _) = app.get_json(&token, "/api/v1/users").await;
            assert_eq!(s, 403);
            let (s, _) = app.get_json(&token, "/api/v1/audit").await;
            assert_eq!(s, 403);
        }
        app.stop().await;
    });
}

#[tokio::test]
async fn invalid_input_is_a_422_naming_the_field_and_a_duplicate_credit_code_a_409() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("supervisor").await;
        let mut e = common::enterprise_input(20, common::TOWN_A, "新建化工有限公司");
        let good_code = e.credit_code.clone();
        let last = good_code.chars().last().expect("char");
        let wrong = if last == '0' { '1' } else { '0' };
        e.credit_code = format!("{}{}", &good_code[..17], wrong);
        let (s, body) = app.send_json(Method::POST, &token, "/api/v1/enterprises", &body_of(&e)).await;
        assert_eq!(s, 422);
        assert_eq!(body["error"]["field"], "credit_code");
        e.credit_code = good_code;
        e.industry_division = Some("59".into());
        let (s, body) = app.send_json(Method::POST, &token, "/api/v1/enterprises", &body_of(&e)).await;
        assert_eq!((s, body["error"]["field"].as_str()), (422, Some("industry_division")));
        e.industry_division = Some("26".into());
        let (s, created) = app.send_json(Method::POST, &token, "/api/v1/enterprises", &body_of(&e)).await;
        assert_eq!(s, 201, "{created}");
        assert_eq!(created["industry_name"], "化学原料和化学制品制造业");
        assert_eq!(created["town_name"], "杨村街道");
        let (s, body) = app.send_json(Method::POST, &token, "/api/v1/enterprises", &body_of(&e)).await;
        assert_eq!(s, 409);
        assert_eq!(body["error"]["field"], "credit_code");
        // A JSON body of the wrong shape names the problem too.
        let (s, body) = app.send_json(Method::POST, &token, "/api/v1/enterprises", &json!({"name": 5})).await;
        assert_eq!(s, 422);
        assert!(body["error"]["message"].as_str().is_some());
        app.stop().await;
    });
}

#[tokio::test]
async fn every_write_is_in_the_audit_log_with_before_and_after() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("supervisor").await;
        let renamed = common::enterprise_input(3, common::TOWN_B, "乙一化工（天津）有限公司");
        let (s, _) = app.send_json(Method::PUT, &token, &format!("/api/v1/enterprises/{}", f.b1), &body_of(&renamed)).await;
        assert_eq!(s, 200);
        let r = app.client.delete(app.url(&format!("/api/v1/facilities/{}", f.fac_b))).bearer_auth(&token).send().await.expect("req");
        assert_eq!(r.status(), 204);
        let admin = app.login("admin").await;
        let (s, log) = app.get_json(&admin, &format!("/api/v1/audit?entity=enterprise&entity_id={}", f.b1)).await;
        assert_eq!(s, 200);
        assert_eq!(log["total"], 1);
        let entry = &log["items"][0];
        assert_eq!(entry["action"], "update");
        assert_eq!(entry["username"], "supervisor");
        assert_eq!(entry["before"]["name"], "乙一化工有限公司");
        assert_eq!(entry["after"]["name"], "乙一化工（天津）有限公司");
        let (_, log) = app.get_json(&admin, "/api/v1/audit?entity=facility&action=delete&user=supervisor").await;
        assert_eq!(log["total"], 1);
        assert!(log["items"][0]["after"].is_null());
        let (s, body) = app.get_json(&admin, "/api/v1/audit?from=yesterday").await;
        assert_eq!((s, body["error"]["field"].as_str()), (422, Some("from")));
        app.stop().await;
    });
}

fn csv_of(rows: &[&str]) -> Vec<u8> {
    let mut s = String::from("统一社会信用代码,企业名称,镇街,行业门类,行业大类,规模,从业人数,风险标签,经度,纬度\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

#[tokio::test]
async fn a_bad_import_reports_every_bad_row_and_writes_nothing() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("supervisor").await;
        let c1 = common::credit_code(101);
        let c2 = common::credit_code(102);
        let file = csv_of(&[
            &format!("{c1},导入一化工,杨村街道,C,26,规模以上,50,危化品储存,117.05,39.37"),
            "911201140000000000,坏代码,杨村街道,C,26,规模以上,50,,,",
            &format!("{c2},导入二物流,不存在镇,G,59,规模以下,10,仓储物流,,"),
            &format!("{c1},重复,杨村街道,C,26,规模以上,50,,,"),
            &format!("{},导入三,杨村街道,C,26,很大,abc,,,", common::credit_code(103)),
        ]);
        let before = yingji::registry::store::count_enterprises(&t.db).await.expect("count");
        let (s, body) = app.upload(&token, "/api/v1/enterprises/import", "企业.csv", file.clone()).await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(body["error"]["code"], "invalid_rows");
        assert_eq!(body["written"], 0);
        assert_eq!(body["total_rows"], 5);
        let rejected: Vec<(u64, String)> = body["rejected"]
            .as_array()
            .expect("rejected")
            .iter()
            .map(|r| (r["line"].as_u64().expect("line"), r["field"].as_str().expect("field").to_string()))
            .collect();
        assert_eq!(
            rejected,
            vec![(3, "credit_code".into()), (4, "town_name".into()), (5, "credit_code".into()), (6, "scale".into())]
        );
        assert_eq!(yingji::registry::store::count_enterprises(&t.db).await.expect("count"), before, "nothing written");

        // With skip_invalid the one valid row is written and the rest reported.
        let (s, body) = app.upload(&token, "/api/v1/enterprises/import?skip_invalid=true", "企业.csv", file).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["written"], 1);
        assert_eq!(body["rejected"].as_array().expect("rejected").len(), 4);
        assert_eq!(yingji::registry::store::count_enterprises(&t.db).await.expect("count"), before + 1);
        app.stop().await;
    });
}

#[tokio::test]
async fn a_gbk_csv_imports_and_an_export_imports_back_unchanged() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("admin").await;
        let text = String::from_utf8(csv_of(&[&format!("{},国标编码化工,下朱庄街道,C,26,规模以上,30,危化品使用、涉氨制冷,117.08,39.34", common::credit_code(201))])).expect("utf8");
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        let (s, body) = app.upload(&token, "/api/v1/enterprises/import", "gbk.csv", gbk.into_owned()).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["inserted"], 1);
        let (_, list) = app.get_json(&token, "/api/v1/enterprises?q=国标编码").await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["flags"], json!(["hazchem_use", "ammonia_refrigeration"]));

        for format in ["csv", "xlsx"] {
            let r = app.get(&token, &format!("/api/v1/enterprises/export?format={format}")).await;
            assert_eq!(r.status(), 200);
            let disposition = r.headers().get("content-disposition").expect("disposition").to_str().expect("ascii").to_string();
            assert!(disposition.contains(&format!(".{format}")));
            let bytes = r.bytes().await.expect("bytes").to_vec();
            if format == "csv" {
                assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel");
            }
            let before = app.get_json(&token, "/api/v1/enterprises?limit=100").await.1;
            let (s, body) = app.upload(&token, "/api/v1/enterprises/import", &format!("export.{format}"), bytes).await;
            assert_eq!(s, 200, "{body}");
            assert_eq!(body["inserted"], 0, "every row matches an existing credit code");
            assert_eq!(body["updated"], before["total"]);
            let after = app.get_json(&token, "/api/v1/enterprises?limit=100").await.1;
            let strip = |v: &Value| {
                v["items"].as_array().expect("items").iter().map(|e| {
                    let mut e = e.clone();
                    e["updated_at"] = Value::Null;
                    e
                }).collect::<Vec<_>>()
            };
            assert_eq!(strip(&before), strip(&after), "{format} round trip keeps every field");
        }
        app.stop().await;
    });
}

#[tokio::test]
async fn lists_filter_search_and_page() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("duty").await;
        let (_, all) = app.get_json(&token, "/api/v1/enterprises").await;
        assert_eq!(all["total"], 3);
        let (_, page) = app.get_json(&token, "/api/v1/enterprises?limit=2&offset=2").await;
        assert_eq!((page["total"].as_i64(), page["items"].as_array().map(Vec::len)), (Some(3), Some(1)));
        let (_, town) = app.get_json(&token, &format!("/api/v1/enterprises?town={}", common::TOWN_B)).await;
        assert_eq!(town["total"], 1);
        let (_, q) = app.get_json(&token, "/api/v1/enterprises?q=物流").await;
        assert_eq!(q["total"], 1);
        let (_, hz) = app.get_json(&token, "/api/v1/enterprises?flag=hazchem").await;
        assert_eq!(hz["total"], 3);
        let (_, gs) = app.get_json(&token, "/api/v1/enterprises?flag=gas_station").await;
        assert_eq!(gs["total"], 0);
        let (_, ind) = app.get_json(&token, "/api/v1/enterprises?industry=26").await;
        assert_eq!(ind["total"], 3);
        let (s, body) = app.get_json(&token, "/api/v1/enterprises?flag=volcano").await;
        assert_eq!((s, body["error"]["field"].as_str()), (422, Some("flag")));
        let (s, body) = app.get_json(&token, "/api/v1/enterprises?limit=0").await;
        assert_eq!((s, body["error"]["field"].as_str()), (422, Some("limit")));
        // A search pattern's wildcards are taken literally.
        let (_, pct) = app.get_json(&token, "/api/v1/enterprises?q=%25").await;
        assert_eq!(pct["total"], 0);
        app.stop().await;
    });
}

#[tokio::test]
async fn map_layers_are_geojson_with_the_district_outline_and_town_counts() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("leader").await;
        let (s, district) = app.get_json(&token, "/api/v1/map/district").await;
        assert_eq!(s, 200);
        assert_eq!(district["type"], "FeatureCollection");
        assert_eq!(district["features"][0]["properties"]["code"], "120114");
        assert_eq!(district["features"][0]["geometry"]["type"], "MultiPolygon");
        let (_, towns) = app.get_json(&token, "/api/v1/map/admin-units").await;
        let towns = towns["features"].as_array().expect("features").clone();
        assert_eq!(towns.len(), 37);
        let a = towns.iter().find(|f| f["properties"]["code"] == common::TOWN_A).expect("town A");
        assert_eq!(a["properties"]["enterprise_count"], 2);
        assert_eq!(a["properties"]["geometry_approximate"], true);
        let (_, points) = app.get_json(&token, "/api/v1/map/enterprises?flag=hazchem_storage").await;
        let p = &points["features"][0];
        assert_eq!(p["geometry"]["type"], "Point");
        assert_eq!(p["properties"]["primary_flag"], "hazchem_storage");
        let (_, fac) = app.get_json(&token, "/api/v1/map/facilities?kind=school").await;
        assert_eq!(fac["features"].as_array().expect("features").len(), 2);
        app.stop().await;
    });
}

#[tokio::test]
async fn real_boundaries_replace_the_generated_ones_and_gcj02_is_converted() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("admin").await;
        let square = |lon: f64, lat: f64| json!([[[lon, lat], [lon + 0.05, lat], [lon + 0.05, lat + 0.05], [lon, lat + 0.05], [lon, lat]]]);
        let fc = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": common::TOWN_A}, "geometry": {"type": "Polygon", "coordinates": square(117.03, 39.34)}},
            {"type": "Feature", "properties": {"name": "下朱庄街道"}, "geometry": {"type": "Polygon", "coordinates": square(117.06, 39.30)}},
        ]});
        let r = app.client.put(app.url("/api/v1/admin-units/boundaries?crs=gcj02")).bearer_auth(&token).json(&fc).send().await.expect("req");
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["updated"], 2);
        let (_, towns) = app.get_json(&token, "/api/v1/map/admin-units").await;
        let a = towns["features"].as_array().expect("f").iter().find(|f| f["properties"]["code"] == common::TOWN_A).expect("A").clone();
        assert_eq!(a["properties"]["geometry_approximate"], false);
        let first = &a["geometry"]["coordinates"][0][0][0];
        let lon = first[0].as_f64().expect("lon");
        assert!((117.03 - lon - 0.006).abs() < 0.001, "GCJ-02 shifted west by about 0.006°, got {lon}");
        // A bad feature refuses the whole file.
        let bad = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": common::TOWN_B}, "geometry": {"type": "Polygon", "coordinates": square(117.1, 39.3)}},
            {"type": "Feature", "properties": {"code": "999999999"}, "geometry": {"type": "Polygon", "coordinates": square(117.1, 39.3)}},
        ]});
        let r = app.client.put(app.url("/api/v1/admin-units/boundaries")).bearer_auth(&token).json(&bad).send().await.expect("req");
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"]["field"], "features[1]");
        let unit = yingji::registry::store::get_unit(&t.db, common::TOWN_B).await.expect("db").expect("B");
        assert!(!unit.geometry_approximate && unit.area_km2.is_some_and(|a| a > 20.0), "B keeps the boundary of the first upload");
        // Only administrators replace boundaries.
        let sup = app.login("supervisor").await;
        let r = app.client.put(app.url("/api/v1/admin-units/boundaries")).bearer_auth(&sup).json(&fc).send().await.expect("req");
        assert_eq!(r.status(), 403);
        app.stop().await;
    });
}
