//! Sharding end to end: the real server on three Postgres databases (`default`, `s2`, `s3`), a
//! realm moved with the real `realmgate realm move` while the server runs, and tokens issued
//! before the move still honoured after it. Needs Postgres: fails (never skips) without it;
//! `cargo xtask test` runs it in its Postgres pass only.

use realmgate_server::config::ShardConfig;
use realmgate_testkit::TestApp;
use serde_json::{Value, json};
use std::process::Command;

const PASSWORD: &str = "correct horse battery staple";

struct Cli {
    config: std::path::PathBuf,
}

impl Cli {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_realmgate"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("REALMGATE_CONFIG")
            .env_remove("REALMGATE_DATABASE_URL")
            .env_remove("REALMGATE_DATA_DIR")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "realmgate {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// The shard `realm list` shows for a realm.
    fn shard_of(&self, realm: &str) -> String {
        let list = self.run(&["realm", "list"]);
        let line = list
            .lines()
            .find(|l| l.starts_with(&format!("{realm}\t")))
            .unwrap_or_else(|| panic!("{realm} not in {list}"));
        line.split('\t').nth(3).unwrap().to_owned()
    }
}

async fn token(app: &TestApp, realm: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let (status, _, body) = app
        .post_form(&app.endpoint(realm, "token"), Some(("app", secret)), form)
        .await;
    (status, body)
}

async fn active(app: &TestApp, realm: &str, secret: &str, token: &str) -> bool {
    let (status, _, body) = app
        .post_form(
            &app.endpoint(realm, "token/introspect"),
            Some(("app", secret)),
            &[("token", token)],
        )
        .await;
    assert_eq!(status, 200, "introspect: {body}");
    body["active"] == json!(true)
}

#[tokio::test]
async fn shards_move_a_live_realm_with_the_cli_and_its_tokens_stay_valid() {
    realmgate_store::testing::require_postgres("the sharded end-to-end test").unwrap();
    let mut shards = Vec::new();
    for (name, weight) in [("s2", 1), ("s3", 1)] {
        let url = realmgate_store::testing::fresh_database_url()
            .await
            .unwrap();
        shards.push(ShardConfig {
            name: name.to_owned(),
            url,
            weight,
        });
    }
    let configured = shards.clone();
    let app = TestApp::spawn_with(move |cfg| cfg.database.shards = configured).await;
    let config = app.data_dir.join("realmgate.toml");
    let mut toml = format!(
        "data_dir = {:?}\n[database]\nurl = {:?}\nmax_connections = 4\n",
        app.data_dir.display().to_string(),
        app.database_url
    );
    for s in &shards {
        toml.push_str(&format!(
            "[[database.shards]]\nname = {:?}\nurl = {:?}\nweight = {}\n",
            s.name, s.url, s.weight
        ));
    }
    std::fs::write(&config, toml).unwrap();
    let cli = Cli { config };

    // Realms spread over the shards (master is on `default`).
    let realm = app.create_realm("sharded").await;
    let other = app.create_realm("neighbour").await;
    let (_, secret) = app
        .create_client(
            &realm,
            json!({ "clientId": "app", "publicClient": false, "directAccessGrantsEnabled": true }),
        )
        .await;
    let secret = secret.unwrap();
    app.create_user(&realm, "alice", PASSWORD).await;
    let home = cli.shard_of(&realm);
    assert_ne!(home, cli.shard_of(&other), "placement spreads realms");
    // Explicit placement through the admin API (our `shard` extension of RealmRepresentation).
    let (status, _, body) = app
        .admin(
            reqwest::Method::POST,
            "",
            Some(json!({ "realm": "pinned-s3", "shard": "s3" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(cli.shard_of("pinned-s3"), "s3");
    let (status, _, body) = app
        .admin(
            reqwest::Method::POST,
            "",
            Some(json!({ "realm": "pinned-nowhere", "shard": "nowhere" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap_or("")
            .contains("nowhere"),
        "{body}"
    );
    let list = cli.run(&["shard", "list"]);
    for name in ["default", "s2", "s3"] {
        assert!(list.contains(&format!("{name}\t1\tno\t")), "{list}");
    }

    let (status, before) = token(
        &app,
        &realm,
        &secret,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{before}");
    let access = before["access_token"].as_str().unwrap().to_owned();
    let refresh = before["refresh_token"].as_str().unwrap().to_owned();
    assert!(active(&app, &realm, &secret, &access).await);

    // Move it with the real binary while the server keeps serving.
    let target = if home == "s3" { "s2" } else { "s3" };
    let out = cli.run(&["realm", "move", &realm, "--to", target]);
    assert!(
        out.contains(&format!(
            "moved realm {realm} from shard {home} to shard {target}"
        )),
        "{out}"
    );
    assert!(out.contains("paused"), "{out}");
    println!("{out}");
    assert_eq!(cli.shard_of(&realm), target);
    let again = cli.run(&["realm", "move", &realm, "--to", target]);
    assert!(again.contains("already on shard"), "{again}");

    // Tokens from before the move: the access token still introspects active (the signing keys
    // moved with the realm), the refresh token still rotates, and new tokens are issued.
    assert!(active(&app, &realm, &secret, &access).await);
    let (status, refreshed) = token(
        &app,
        &realm,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "refresh after the move: {refreshed}");
    let new_access = refreshed["access_token"].as_str().unwrap();
    assert!(active(&app, &realm, &secret, new_access).await);
    let (status, fresh) = token(
        &app,
        &realm,
        &secret,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{fresh}");

    // Clear one-line errors for mistakes.
    let bad = Command::new(env!("CARGO_BIN_EXE_realmgate"))
        .arg("--config")
        .arg(&cli.config)
        .args(["realm", "move", &realm, "--to", "nowhere"])
        .env_remove("REALMGATE_CONFIG")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("shard 'nowhere' is not configured"), "{err}");
    app.stop().await;
}
