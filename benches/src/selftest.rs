//! The load bench in test mode: tiny runs against an in-process server on the test store, which
//! must finish without a single error and write their JSON and Markdown reports: a two-step
//! curve with every scenario in a closed loop (the default `raw` client), the same curve at a
//! fixed rate (open loop), and the other clients: `conn` and the shared `hyper` and `reqwest`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use clap::Parser;
use realmgate_testkit::TestApp;
use serde_json::Value;

use crate::Args;

/// What every self-test run shares: a small token sample and setup, no waiting for an idle
/// machine, no reruns.
const SMALL: &[&str] = &[
    "--token-realms",
    "3",
    "--setup-concurrency",
    "4",
    "--wait-idle",
    "0",
    "--retries",
    "0",
];

/// A two-step curve of short closed-loop windows with 4 workers.
const TINY_CURVE: &[&str] = &[
    "--curve",
    "2,5",
    "--concurrency",
    "4",
    "--duration",
    "0.4",
    "--warmup",
    "0.1",
];

/// Runs the bench with `extra` arguments against a fresh in-process server; returns the JSON
/// report and the Markdown one.
async fn bench(extra: &[&str]) -> (Value, String) {
    let app = TestApp::spawn().await;
    let out = app.data_dir.join("bench-out");
    let pid = std::process::id().to_string();
    let mut argv = vec![
        "loadbench",
        "--url",
        app.url.as_str(),
        "--admin-password",
        app.admin_password.as_str(),
        "--server-pid",
        pid.as_str(),
        "--out",
        out.to_str().unwrap(),
    ];
    argv.extend_from_slice(SMALL);
    argv.extend_from_slice(extra);
    crate::run(Args::try_parse_from(argv).unwrap())
        .await
        .unwrap();
    let find = |ext: &str| {
        std::fs::read_dir(&out)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == ext))
            .unwrap_or_else(|| panic!("a .{ext} report"))
    };
    let json = serde_json::from_slice(&std::fs::read(find("json")).unwrap()).unwrap();
    let md = std::fs::read_to_string(find("md")).unwrap();
    app.stop().await;
    (json, md)
}

/// Every scenario of every step answered, without an error.
fn assert_no_errors(report: &Value) {
    for step in report["steps"].as_array().unwrap() {
        assert_eq!(step["first_tokens"]["failures"], 0, "{step}");
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_tokens_keeps_the_token_count_over_fewer_realms() {
    let (report, md) = bench(
        &[
            &[
                "--same-tokens",
                "--scenario",
                "userinfo,introspect,refresh,jwks",
            ],
            TINY_CURVE,
        ]
        .concat(),
    )
    .await;
    assert_no_errors(&report);
    let steps = report["steps"].as_array().unwrap();
    // Two realms still carry the sample's three tokens: realm 0's user logged in twice.
    assert_eq!(steps[0]["token_realms"], 2);
    assert_eq!(steps[0]["user_tokens"], 3);
    assert_eq!(steps[0]["token_logins"], 3);
    // Five realms: three of them, one token each; two of those tokens kept from the first step.
    assert_eq!(steps[1]["token_realms"], 3);
    assert_eq!(steps[1]["user_tokens"], 3);
    assert_eq!(steps[1]["token_logins"], 1);
    assert!(
        md.contains("several per realm where there are fewer realms"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_curve_with_every_scenario_has_no_errors() {
    let (report, md) = bench(&[&["--scenario", "all"], TINY_CURVE].concat()).await;
    assert_eq!(report["client"], "raw");
    assert_eq!(report["rate_per_s"], Value::Null);
    assert!(md.contains("closed loop, 4 workers"), "{md}");
    assert_no_errors(&report);
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["realms"], 2);
    assert_eq!(steps[1]["realms"], 5);
    assert_eq!(steps[1]["provisioning"]["realms_before"], 2);
    assert_eq!(steps[1]["token_realms"], 3);
    for step in steps {
        let names: Vec<&str> = step["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                assert_eq!(s["open_loop"], Value::Null);
                s["name"].as_str().unwrap()
            })
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
    }
    // The login ceiling was measured with every core verifying at once, and the report puts the
    // logins of the password scenario against it.
    let argon2 = &report["argon2"];
    assert!(argon2["ceiling_per_s"].as_f64().unwrap() > 0.0, "{argon2}");
    assert!(
        argon2["cores_times_one_per_s"].as_f64().unwrap() > 0.0,
        "{argon2}"
    );
    assert!(md.contains("one per core at once: **ceiling"), "{md}");
    assert!(md.contains("of the argon2id ceiling"), "{md}");
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
}

/// An open loop at 150 requests/s: every scenario sends close to that rate, and the curve and
/// the reports say so. Three rounds per step: the curve reports each scenario's median-p99 round.
/// 32 workers leave headroom for `mixed`'s slow requests (its password logins
/// take up to a second in a debug build on a busy machine; with 8 workers a few of them held the
/// rate down to 0.8×).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_rate_curve_achieves_the_rate() {
    let rate = 150.0;
    let (report, md) = bench(&[
        "--curve",
        "2,4",
        "--scenario",
        "cc,discovery,mixed",
        "--concurrency",
        "32",
        "--rate",
        "150",
        "--rounds",
        "3",
        "--duration",
        "1",
        "--warmup",
        "0.2",
    ])
    .await;
    assert_no_errors(&report);
    assert_eq!(report["rate_per_s"], rate);
    assert!(md.contains("open loop at 150 requests/s"), "{md}");
    assert!(md.contains("sent/s"), "{md}");
    for step in report["steps"].as_array().unwrap() {
        for sc in step["scenarios"].as_array().unwrap() {
            let o = &sc["open_loop"];
            assert_eq!(o["offered_per_s"], rate, "{sc}");
            let achieved = o["achieved_per_s"].as_f64().unwrap();
            assert!(
                (0.85 * rate..=1.1 * rate).contains(&achieved),
                "{}: sent {achieved}/s of {rate}/s",
                sc["name"]
            );
            // Requests counted from when they fell due, so never below a request's own time.
            assert!(sc["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{sc}");
        }
    }
    let curve = &report["curve"];
    assert_eq!(curve["rate_per_s"], rate);
    let cc = curve["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["op"] == "cc")
        .expect("a cc row");
    assert!(cc["points"][1]["p99_ratio"].is_number(), "{cc}");
    assert!(cc["points"][0]["late"].is_u64(), "{cc}");
    for p in cc["points"].as_array().unwrap() {
        let mut rounds: Vec<f64> = p["p99_rounds_ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_f64().unwrap())
            .collect();
        assert_eq!(rounds.len(), 3, "{p}");
        rounds.sort_by(f64::total_cmp);
        assert_eq!(p["p99_ms"].as_f64(), Some(rounds[1]), "{p}");
    }
    assert!(md.contains("median of its rounds"), "{md}");
    assert!(
        md.contains("at the same offered load, 150 requests/s"),
        "{md}"
    );
}

/// `--interleave`: one server per step, each holding only its own step's realms, and every
/// round of every scenario measured on each of them, in alternating order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_curve_measures_one_server_per_step() {
    use crate::setup::{Bench, ServerAt};
    let apps = [TestApp::spawn().await, TestApp::spawn().await];
    let mut argv = vec![
        "loadbench",
        "--spawn",
        "--interleave",
        "--curve",
        "2,4",
        "--scenario",
        "cc,userinfo",
        "--rounds",
        "3",
        "--concurrency",
        "4",
        "--duration",
        "0.3",
        "--warmup",
        "0.1",
    ];
    argv.extend_from_slice(SMALL);
    let args = Args::try_parse_from(argv).unwrap();
    let bench = Bench::new(&args, 4, crate::server::clock_ticks())
        .await
        .unwrap();
    let servers: Vec<ServerAt> = apps
        .iter()
        .map(|a| ServerAt {
            base: a.url.clone(),
            password: a.admin_password.clone(),
            pid: Some(std::process::id()),
        })
        .collect();
    let (steps, distribution, _) = crate::interleave::drive(&args, &bench, &servers, &[2, 4])
        .await
        .unwrap();
    let rep = bench.report(&args, "t", steps, distribution, None, true);
    let md = rep.markdown();
    let report = serde_json::to_value(rep).unwrap();
    assert_no_errors(&report);
    assert_eq!(report["steps"][0]["realms"], 2);
    assert_eq!(report["steps"][1]["realms"], 4);
    // Each server was provisioned from zero to its own step, and holds no other step's realms.
    assert_eq!(report["steps"][1]["provisioning"]["realms"], 4, "{report}");
    let last = crate::provision::realm_names("lb", 4).pop().unwrap();
    let http = reqwest::Client::new();
    for (app, status) in apps.iter().zip([404, 200]) {
        let r = http
            .get(format!(
                "{}/realms/{last}/.well-known/openid-configuration",
                app.url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{last} on {}", app.url);
    }
    let curve = &report["curve"];
    assert_eq!(curve["interleaved"], true);
    for row in curve["rows"].as_array().unwrap() {
        for p in row["points"].as_array().unwrap() {
            assert_eq!(p["p99_rounds_ms"].as_array().unwrap().len(), 3, "{p}");
        }
        // The second step's ratio comes with its interval over the rounds, the first has none.
        let points = row["points"].as_array().unwrap();
        assert!(points[0].get("p99_ratio_90").is_none(), "{row}");
        let ratio = points[1]["p99_ratio"].as_f64().unwrap();
        let lo = points[1]["p99_ratio_90"][0].as_f64().unwrap();
        let hi = points[1]["p99_ratio_90"][1].as_f64().unwrap();
        assert!(lo <= ratio && ratio <= hi, "{row}");
        assert!(
            md.contains(&format!("{ratio:.2} ({lo:.2}–{hi:.2})")),
            "{md}"
        );
    }
    for app in apps {
        app.stop().await;
    }
}

/// The other clients still drive every kind of request (the code flow included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_clients_have_no_errors() {
    for client in ["conn", "hyper", "reqwest"] {
        let (report, _) = bench(&[
            "--realms",
            "2",
            "--scenario",
            "cc,code,userinfo",
            "--client",
            client,
            "--concurrency",
            "2",
            "--duration",
            "0.3",
            "--warmup",
            "0.1",
        ])
        .await;
        assert_eq!(report["client"], client);
        assert_no_errors(&report);
    }
}
