//! The load bench in test mode: a tiny run (a few realms, a two-step curve, every scenario for a
//! fraction of a second) against an in-process server on the test store, which must finish
//! without a single error and write its JSON and Markdown reports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use clap::Parser;
use realmgate_testkit::TestApp;

use crate::Args;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_curve_with_every_scenario_has_no_errors() {
    let app = TestApp::spawn().await;
    let out = app.data_dir.join("bench-out");
    let pid = std::process::id().to_string();
    let args = Args::try_parse_from([
        "loadbench",
        "--url",
        app.url.as_str(),
        "--admin-password",
        app.admin_password.as_str(),
        "--server-pid",
        pid.as_str(),
        "--curve",
        "2,5",
        "--token-realms",
        "3",
        "--scenario",
        "all",
        "--concurrency",
        "4",
        "--setup-concurrency",
        "4",
        "--duration",
        "0.4",
        "--warmup",
        "0.1",
        "--wait-idle",
        "0",
        "--retries",
        "0",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    crate::run(args).await.unwrap();

    let json = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a JSON report");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["realms"], 2);
    assert_eq!(steps[1]["realms"], 5);
    assert_eq!(steps[1]["provisioning"]["realms_before"], 2);
    assert_eq!(steps[1]["token_realms"], 3);
    for step in steps {
        assert_eq!(step["first_tokens"]["failures"], 0, "{step}");
        let names: Vec<&str> = step["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "cc",
                "password",
                "code",
                "refresh",
                "userinfo",
                "introspect",
                "discovery",
                "jwks",
                "mixed"
            ]
        );
        for sc in step["scenarios"].as_array().unwrap() {
            assert!(
                sc["errors"].as_object().unwrap().is_empty(),
                "{}: {}",
                sc["name"],
                sc["error_samples"]
            );
            assert!(sc["ok"].as_u64().unwrap() > 0, "{sc}");
        }
    }
    let curve = &report["curve"];
    assert_eq!(curve["steps"], serde_json::json!([2, 5]));
    let code = curve["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["op"] == "code")
        .expect("a code row");
    assert_eq!(code["points"].as_array().unwrap().len(), 2);
    assert!(code["points"][1]["p99_ratio"].is_number());
    assert!(
        std::fs::read_dir(&out)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "md"))
    );
    app.stop().await;
}
