//! Micro-benchmarks of the primitives on Realmgate's hot paths: JWT signing and verification per
//! algorithm, signing-key generation, argon2id at OWASP parameters, token hashing, PKCE and
//! master-key sealing, and two of the app's own steps without HTTP: resolving a realm's context
//! by name, and minting a client-credentials token end to end.
//!
//! `cargo bench -p realmgate-benches --bench primitives` (a few minutes on 2 cores). Under
//! `cargo test --all-targets` criterion runs each benchmark once (`--test` mode).
//!
//! The numbers are per call on one core: the ceiling of a single server core for that operation;
//! `jwt_sign_N_cores` signs on every core at once, the machine's signing ceiling.
//! `docs/performance.md` records the figures measured on the project's machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use realmgate_crypto::{
    MasterKey, PasswordHasher, PasswordParams, SigAlg, SigningKey, hash_password_blocking,
    pkce_s256, random_token, token_hash, verify_jwt,
};
use realmgate_testkit::TestApp;
use serde_json::{Value, json};

/// A realistic access token claim set (16 claims), as the token endpoint issues for a user.
fn access_token_claims() -> Value {
    let now = 1_760_000_000_u64;
    json!({
        "exp": now + 300,
        "iat": now,
        "auth_time": now - 20,
        "jti": "01J9ZK6W3X5V2Q8M4N7B0C1D2E",
        "iss": "https://id.example.com/realms/acme-production",
        "aud": ["account", "orders-api"],
        "sub": "0192f4c5-8d1e-7a3b-9c6d-2e4f5a6b7c8d",
        "typ": "Bearer",
        "azp": "orders-web",
        "sid": "0192f4c5-9e2f-7b4c-8d7e-3f5a6b7c8d9e",
        "acr": "1",
        "scope": "openid profile email",
        "realm_access": { "roles": ["default-roles-acme-production", "offline_access", "uma_authorization", "orders:read"] },
        "preferred_username": "jane.doe",
        "email": "jane.doe@example.com",
        "email_verified": true,
    })
}

/// ES256 signing round-robin over 10 keys and over 100,000 (one per realm at the top of the
/// load bench's curve): whether a key cold in the CPU caches costs more than its arithmetic.
fn sign_with_many_keys(c: &mut Criterion, claims: &Value) {
    let mut g = c.benchmark_group("jwt_sign_ES256_round_robin");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for n in [10usize, 100_000] {
        // Generated only when this benchmark is selected (not for every other one in the group).
        let mut keys: Vec<SigningKey> = Vec::new();
        let mut next = 0usize;
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            if keys.is_empty() {
                keys = (0..n)
                    .map(|i| SigningKey::generate(SigAlg::ES256, format!("k{i}")).unwrap())
                    .collect();
            }
            b.iter(|| {
                next = (next + 7919) % keys.len();
                keys[next]
                    .sign_jwt(Some("at+jwt"), black_box(claims))
                    .unwrap()
            });
        });
    }
    g.finish();
}

fn jwt(c: &mut Criterion) {
    let claims = access_token_claims();
    let mut sign = c.benchmark_group("jwt_sign");
    sign.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    for alg in SigAlg::ALL {
        let key = SigningKey::generate(alg, format!("bench-{alg}")).unwrap();
        sign.bench_with_input(BenchmarkId::from_parameter(alg), &key, |b, key| {
            b.iter(|| key.sign_jwt(Some("at+jwt"), black_box(&claims)).unwrap());
        });
    }
    sign.finish();
    sign_with_many_keys(c, &claims);
    sign_on_every_core(c, &claims);

    let mut verify = c.benchmark_group("jwt_verify");
    verify
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    for alg in SigAlg::ALL {
        let key = SigningKey::generate(alg, format!("bench-{alg}")).unwrap();
        let token = key.sign_jwt(Some("at+jwt"), &claims).unwrap();
        // A realm's JWKS holds one key per algorithm; verification picks by `kid`.
        let keys: Vec<_> = SigAlg::ALL
            .into_iter()
            .map(|a| {
                if a == alg {
                    key.verifying_key()
                } else {
                    SigningKey::generate(a, format!("other-{a}"))
                        .unwrap()
                        .verifying_key()
                }
            })
            .collect();
        verify.bench_with_input(BenchmarkId::from_parameter(alg), &token, |b, token| {
            b.iter(|| verify_jwt(black_box(token), &keys).unwrap());
        });
    }
    verify.finish();
}

/// The machine's signing ceiling: one signer per core, all at once, counting signatures per
/// second of wall time. On a VM two vCPUs need not be two independent cores (hyperthreads,
/// a host's other tenants), so this, not twice the one-core figure, is what a server on this
/// machine could at best sign if signing were its only work.
fn sign_on_every_core(c: &mut Criterion, claims: &Value) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = c.benchmark_group(format!("jwt_sign_{cores}_cores"));
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(cores as u64));
    for alg in SigAlg::ALL {
        let key = SigningKey::generate(alg, format!("bench-{alg}")).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(alg), &key, |b, key| {
            // One iteration = `cores` signatures, taken from a shared count by whichever signer
            // is free (as a server's workers take requests), so a signer slowed by the host does
            // not leave the others idle at the end; the time is the wall time of all.
            b.iter_custom(|iters| {
                let left = AtomicU64::new(iters * cores as u64);
                let start = std::time::Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..cores {
                        s.spawn(|| {
                            while left
                                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok()
                            {
                                key.sign_jwt(Some("at+jwt"), black_box(claims)).unwrap();
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
    }
    g.finish();
}

/// Signing-key generation: each realm's keys are generated lazily on its first token request.
fn keygen(c: &mut Criterion) {
    let mut g = c.benchmark_group("keygen");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for alg in SigAlg::ALL {
        g.bench_function(BenchmarkId::from_parameter(alg), |b| {
            b.iter(|| SigningKey::generate(alg, "k".to_owned()).unwrap());
        });
    }
    g.finish();
}

fn argon2id(c: &mut Criterion) {
    let params = PasswordParams::OWASP;
    let phc = hash_password_blocking(params, "correct horse battery staple").unwrap();
    let mut g = c.benchmark_group("argon2id_owasp");
    // ~40 ms per call: the minimum sample count keeps this group near 10 s.
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    g.bench_function("hash_blocking", |b| {
        b.iter(|| {
            hash_password_blocking(params, black_box("correct horse battery staple")).unwrap()
        });
    });
    // The server's path: the bounded pool (spawn_blocking) that every login goes through.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let hasher = PasswordHasher::new(params, 1, 16);
    g.bench_function("verify_pool", |b| {
        b.iter(|| {
            let verdict = rt
                .block_on(hasher.verify(
                    "correct horse battery staple".to_owned(),
                    black_box(phc.clone()),
                ))
                .unwrap();
            assert!(verdict.ok);
        });
    });
    // The ceiling of password logins: the same pool with one worker per core, `cores`
    // verifications at once per iteration (a verification fills 19 MiB, so two vCPUs need not
    // run two as fast as one).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wide = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .unwrap();
    let pool = PasswordHasher::new(params, cores, cores);
    g.throughput(Throughput::Elements(cores as u64));
    g.bench_function(format!("verify_pool_{cores}_cores"), |b| {
        b.iter(|| {
            wide.block_on(async {
                let all: Vec<_> = (0..cores)
                    .map(|_| {
                        let pool = pool.clone();
                        let phc = phc.clone();
                        tokio::spawn(async move {
                            pool.verify("correct horse battery staple".to_owned(), phc)
                                .await
                        })
                    })
                    .collect();
                for t in all {
                    assert!(t.await.unwrap().unwrap().ok);
                }
            });
        });
    });
    g.finish();
}

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("hashing");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(1));
    // A refresh token / authorization code as issued: 32 random bytes, base64url.
    let token = random_token(32);
    g.bench_function("token_hash_32B", |b| {
        b.iter(|| token_hash(black_box(&token)));
    });
    let verifier = random_token(48);
    g.bench_function("pkce_s256_64ch", |b| {
        b.iter(|| pkce_s256(black_box(&verifier)));
    });
    g.bench_function("random_token_32B", |b| {
        b.iter(|| random_token(black_box(32)));
    });
    g.finish();
}

fn master_key(c: &mut Criterion) {
    let key = MasterKey::generate();
    let secret = [7u8; 32];
    let aad = b"realm:0192f4c5-8d1e-7a3b-9c6d-2e4f5a6b7c8d:client-secret";
    let sealed = key.seal(aad, &secret).unwrap();
    let mut g = c.benchmark_group("master_key_32B");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(1));
    g.bench_function("seal", |b| {
        b.iter(|| key.seal(aad, black_box(&secret)).unwrap());
    });
    g.bench_function("open", |b| {
        b.iter(|| key.open(aad, black_box(&sealed)).unwrap());
    });
    g.finish();
}

criterion_group!(
    benches,
    jwt,
    keygen,
    argon2id,
    hashing,
    master_key,
    app_paths,
    cc_over_realms
);
criterion_main!(benches);

/// `iters` runs of `f`, one after another in one `block_on` (so the runtime's entry is not
/// counted): the time they took.
fn timed<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    rt.block_on(async {
        let start = std::time::Instant::now();
        for _ in 0..iters {
            f().await;
        }
        start.elapsed()
    })
}

/// The app's steps on every token request, without HTTP, on a real server's app (embedded store,
/// caches warm): `realm_context` resolves a realm's name to its cached context (what every
/// request under `/realms/{realm}` does first), and `client_credentials_token` is the whole
/// grant — Basic client authentication against the cached client, scopes, role claims, the
/// claims and one signature — as the token endpoint runs it. Each sample runs its iterations in
/// one `block_on`, so the runtime's entry is not counted.
fn app_paths(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (test, realm, basic) = rt.block_on(async {
        let test = TestApp::spawn().await;
        let realm = test.create_realm("bench").await;
        let secret = "bench-secret-0123456789";
        test.create_client(
            &realm,
            json!({
                "clientId": "svc",
                "publicClient": false,
                "serviceAccountsEnabled": true,
                "secret": secret,
                "attributes": { "access.token.signed.response.alg": "ES256" }
            }),
        )
        .await;
        let basic = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("svc:{secret}")
            )
        );
        (test, realm, basic)
    });
    let app = test.app();
    let form = || vec![("grant_type".to_owned(), "client_credentials".to_owned())];
    // Warm the caches (and generate the realm's ES256 key) once.
    let ctx = rt.block_on(app.realm(&realm)).unwrap();
    rt.block_on(app.token(&ctx, Some(&basic), form(), None))
        .unwrap();

    let mut g = c.benchmark_group("app");
    g.throughput(Throughput::Elements(1));
    let (app, realm, ctx, basic) = (&app, &realm, &ctx, &basic);
    g.bench_function("realm_context", |b| {
        b.iter_custom(|n| {
            timed(&rt, n, || async move {
                black_box(app.realm(black_box(realm)).await.unwrap());
            })
        });
    });
    g.bench_function("client_credentials_token/ES256", |b| {
        b.iter_custom(|n| {
            timed(&rt, n, || async move {
                let out = app.token(ctx, Some(basic), form(), None).await.unwrap();
                black_box(out.access_token);
            })
        });
    });
    // The store reads behind the background re-reads of a busy realm's cached entries.
    let id = &ctx.id().clone();
    let store = &app.store().clone();
    g.bench_function("reread/realm_by_name", |b| {
        b.iter_custom(|n| {
            timed(&rt, n, || async move {
                let mut tx = store.system_read().await.unwrap();
                black_box(tx.realm_by_name(realm).await.unwrap());
            })
        });
    });
    g.bench_function("reread/client_and_service_user", |b| {
        b.iter_custom(|n| {
            timed(&rt, n, || async move {
                let mut tx = store.realm_read(id).await.unwrap();
                black_box(tx.client_by_client_id("svc").await.unwrap());
                black_box(tx.user_by_username("service-account-svc").await.unwrap());
            })
        });
    });
    g.bench_function("reread/keys", |b| {
        b.iter_custom(|n| {
            timed(&rt, n, || async move {
                let mut tx = store.realm_read(id).await.unwrap();
                black_box(tx.keys().await.unwrap());
            })
        });
    });
    // What re-validates a tick's due entries instead: one statement for all their realms (the
    // bench's realm and others without a revision row, each an index probe all the same).
    for count in [1usize, 32] {
        let ids = &std::iter::once(id.clone())
            .chain((1..count).map(|_| realmgate_domain::RealmId::new()))
            .collect::<Vec<_>>();
        g.bench_function(format!("reread/config_revisions_of_{count}"), |b| {
            b.iter_custom(|n| {
                timed(&rt, n, || async move {
                    black_box(store.config_revisions(ids).await.unwrap());
                })
            });
        });
    }
    g.bench_function("reread/empty_read_tx", |b| {
        b.iter_custom(|n| {
            timed(&rt, n, || async move {
                black_box(store.realm_read(id).await.unwrap());
            })
        });
    });
    g.finish();
    rt.block_on(test.stop());
}

/// A client-credentials token (realm context by name, then the whole grant) round-robin over 10
/// realms and over 20,000: what cached realms, clients, keys and role claims cold in the CPU
/// caches cost, without HTTP and the load generator. The realms are made (through the admin API,
/// about a minute) only when the 20,000 case is selected.
fn cc_over_realms(c: &mut Criterion) {
    const SECRET: &str = "bench-secret-0123456789";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let test = rt.block_on(TestApp::spawn());
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("svc:{SECRET}")
        )
    );
    let mut names: Vec<String> = Vec::new();
    let mut g = c.benchmark_group("app_cc_over_realms");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    for n in [10usize, 20_000] {
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            rt.block_on(async {
                let mut token = test.admin_token().await;
                while names.len() < n {
                    if names.len().is_multiple_of(500) {
                        token = test.admin_token().await;
                    }
                    let name = format!("cc-{}", names.len());
                    let (status, _, body) = test
                        .admin_with(
                            &token,
                            reqwest::Method::POST,
                            "",
                            Some(json!({ "realm": name, "enabled": true })),
                        )
                        .await;
                    assert_eq!(status, 201, "create realm: {body}");
                    let (status, _, body) = test
                        .admin_with(
                            &token,
                            reqwest::Method::POST,
                            &format!("/{name}/clients"),
                            Some(json!({
                                "clientId": "svc",
                                "publicClient": false,
                                "serviceAccountsEnabled": true,
                                "secret": SECRET,
                                "attributes": { "access.token.signed.response.alg": "ES256" }
                            })),
                        )
                        .await;
                    assert_eq!(status, 201, "create client: {body}");
                    names.push(name);
                }
            });
            let app = test.app();
            let (names, basic) = (&names[..n], &basic);
            let form = || vec![("grant_type".to_owned(), "client_credentials".to_owned())];
            // Every realm's context, client, keys (its first ES256 key) and role claims cached.
            rt.block_on(async {
                for name in names {
                    let ctx = app.realm(name).await.unwrap();
                    app.token(&ctx, Some(basic), form(), None).await.unwrap();
                }
            });
            let next = &AtomicU64::new(0);
            b.iter_custom(|iters| {
                timed(&rt, iters, || async move {
                    let i = next.fetch_add(7919, Ordering::Relaxed) as usize % names.len();
                    let ctx = app.realm(&names[i]).await.unwrap();
                    let out = app.token(&ctx, Some(basic), form(), None).await.unwrap();
                    black_box(out.access_token);
                })
            });
        });
    }
    g.finish();
    rt.block_on(test.stop());
}
