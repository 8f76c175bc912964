//! The `realmgate` binary itself: admin commands without a server, then `serve` on the same
//! store, and configuration errors.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_realmgate"))
}

struct Env {
    data_dir: std::path::PathBuf,
    db: String,
}

impl Env {
    async fn new() -> Env {
        let data_dir = std::env::temp_dir()
            .join("realmgate-cli-tests")
            .join(uuid());
        let db = realmgate_store::testing::fresh_database_url()
            .await
            .unwrap();
        Env { data_dir, db }
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.args(args)
            .env("REALMGATE_DATA_DIR", &self.data_dir)
            .env("REALMGATE_DATABASE_URL", &self.db)
            .env("REALMGATE_BOOTSTRAP_ADMIN_PASSWORD", "bootstrap-pw")
            .env_remove("REALMGATE_CONFIG");
        c
    }
    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "realmgate {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

fn uuid() -> String {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b.iter().map(|v| format!("{v:02x}")).collect()
}

#[tokio::test]
async fn admin_commands_then_serve_and_log_in() {
    let env = Env::new().await;
    env.run(&["migrate"]);
    env.run(&["realm", "create", "acme", "--display-name", "Acme Corp"]);
    assert!(env.run(&["realm", "list"]).contains("acme"));
    let out = env.run(&[
        "client",
        "create",
        "--realm",
        "acme",
        "--client-id",
        "cli-app",
        "--service-account",
        "--direct-access",
    ]);
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client secret: "))
        .expect("secret printed once")
        .trim()
        .to_owned();
    env.run(&[
        "user",
        "create",
        "--realm",
        "acme",
        "--username",
        "bob",
        "--email",
        "bob@acme.test",
        "--password",
        "first-pw",
    ]);
    let mut c = env.cmd(&[
        "user",
        "set-password",
        "--realm",
        "acme",
        "--username",
        "bob",
        "--password-stdin",
    ]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"second-pw\n")
            .unwrap();
    }
    assert!(child.wait().unwrap().success());
    env.run(&["keys", "rotate", "--realm", "acme", "--alg", "ES256"]);

    let mut server = env
        .cmd(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.split_whitespace().nth(4).unwrap().to_owned();
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{base}/realms/acme/protocol/openid-connect/token"))
        .basic_auth("cli-app", Some(&secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "second-pw"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    let status = token.status();
    let body: serde_json::Value = token.json().await.unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&env.data_dir);
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn unknown_config_keys_are_rejected_with_a_clear_message() {
    let env = Env::new().await;
    std::fs::create_dir_all(&env.data_dir).unwrap();
    let cfg = env.data_dir.join("realmgate.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\n[database]\nurll = \"x\"\n").unwrap();
    let out = env
        .cmd(&["--config", cfg.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown field") && err.contains("urll"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&env.data_dir);
}

#[tokio::test]
async fn a_bad_cache_safety_ttl_is_rejected_at_start() {
    let env = Env::new().await;
    for (value, says) in [
        ("soon", "must be a number of seconds"),
        ("0", "between 1 and 86400"),
    ] {
        let out = env
            .cmd(&["serve"])
            .env("REALMGATE_CACHE_SAFETY_TTL_SECONDS", value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{value}: {err}");
    }
    let _ = std::fs::remove_dir_all(&env.data_dir);
}

#[tokio::test]
async fn deleting_a_missing_realm_fails_loudly() {
    let env = Env::new().await;
    let out = env
        .cmd(&["realm", "delete", "does-not-exist"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("realm not found"));
    let _ = std::fs::remove_dir_all(&env.data_dir);
}
