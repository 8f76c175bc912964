// Conformance peer: the official Keycloak admin client (@keycloak/keycloak-admin-client 26.x)
// driving Realmgate's Keycloak-compatible admin REST API.
//
// Run with `node --test conformance/keycloak-admin/` (conformance/run.sh does this) and:
//   REALMGATE_URL, REALMGATE_ADMIN_USER, REALMGATE_ADMIN_PASSWORD
// A missing variable or an unreachable server fails the suite (it never skips).
//
// Every call below goes through the library exactly as an application would use it, so
// the server must answer the way Keycloak does: e.g. every `create` needs a `Location`
// header (the client takes the new id from its last path segment), `find`/`create` use
// URLs with a trailing slash (`/admin/realms/`, `/admin/realms/{r}/users/`, ...),
// and 404 on `findOne` is turned into `null` by the client.

import { after, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

import KcAdminClient from "@keycloak/keycloak-admin-client";

const URL_ = (process.env.REALMGATE_URL ?? "").replace(/\/+$/, "");
const ADMIN_USER = process.env.REALMGATE_ADMIN_USER ?? "";
const ADMIN_PASSWORD = process.env.REALMGATE_ADMIN_PASSWORD ?? "";

const suffix = randomBytes(4).toString("hex");
const REALM = `conf-node-${suffix}`;
const DIRECT_CLIENT = "conf-direct"; // public client with directAccessGrantsEnabled

function requireEnv() {
  const missing = [
    ["REALMGATE_URL", URL_],
    ["REALMGATE_ADMIN_USER", ADMIN_USER],
    ["REALMGATE_ADMIN_PASSWORD", ADMIN_PASSWORD],
  ]
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) {
    throw new Error(
      `${missing.join(", ")} not set: run through \`cargo xtask test\` or \`bash conformance/run.sh\` ` +
        "with REALMGATE_URL, REALMGATE_ADMIN_USER and REALMGATE_ADMIN_PASSWORD exported (see conformance/README.md)",
    );
  }
}

async function probeServer() {
  const probe = `${URL_}/realms/master/.well-known/openid-configuration`;
  let res;
  try {
    res = await fetch(probe, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`REALMGATE_URL=${URL_} is unreachable (${probe}): ${err.cause?.message ?? err.message}`);
  }
  if (res.status !== 200) {
    throw new Error(`REALMGATE_URL=${URL_} answered HTTP ${res.status} for ${probe}`);
  }
}

// Checked once, before the first test; every test re-throws the same error, so a missing
// variable or a dead server shows up as failures with one clear message (never as skips).
let preflight;
function ensureServer() {
  preflight ??= (async () => {
    requireEnv();
    await probeServer();
  })();
  return preflight;
}

const kc = new KcAdminClient({ baseUrl: URL_ || "http://127.0.0.1:1", realmName: "master" });

// The client obtains (and later refreshes) its token from the realm in its *current*
// realmName. Admin tokens live in master and are short (Keycloak: 60 s), so before each
// group of calls we log in again against master and then switch to the test realm.
async function authAsMaster() {
  await ensureServer();
  kc.setConfig({ realmName: "master" });
  await kc.auth({
    username: ADMIN_USER,
    password: ADMIN_PASSWORD,
    grantType: "password",
    clientId: "admin-cli",
  });
}

async function useTestRealm() {
  await authAsMaster();
  kc.setConfig({ realmName: REALM });
}

function decodeJwtPayload(jwt) {
  const [, payload] = jwt.split(".");
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
}

// Resource-owner password grant with a plain fetch (no admin client involved).
async function passwordGrant(username, password) {
  const res = await fetch(`${URL_}/realms/${REALM}/protocol/openid-connect/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "password",
      client_id: DIRECT_CLIENT,
      username,
      password,
      scope: "openid",
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body };
}

async function createUser(username, password, extra = {}) {
  const created = await kc.users.create({
    username,
    email: `${username}@example.org`,
    firstName: "Conf",
    lastName: "User",
    enabled: true,
    emailVerified: true,
    credentials: [{ type: "password", value: password, temporary: false }],
    ...extra,
  });
  assert.equal(typeof created.id, "string", "users.create must yield the id from the Location header");
  assert.ok(created.id.length > 0);
  return created.id;
}

describe("Keycloak admin client (@keycloak/keycloak-admin-client) against Realmgate", () => {
  let realmCreated = false;

  after(async () => {
    // Best-effort cleanup if the realm-deletion test did not run or failed.
    if (!realmCreated) return;
    try {
      await authAsMaster();
      await kc.realms.del({ realm: REALM });
    } catch {
      /* already gone */
    }
  });

  test("auth: admin-cli password grant on master gives the client a decodable JWT access token", async () => {
    await authAsMaster();
    assert.ok(kc.accessToken, "no access token after kc.auth()");
    const claims = decodeJwtPayload(kc.accessToken);
    assert.equal(typeof claims.exp, "number", "the client relies on `exp` to decide when to refresh");
  });

  describe("realms", () => {
    beforeEach(authAsMaster);

    test("realms.create returns the new realm name taken from the Location header", async () => {
      const res = await kc.realms.create({
        realm: REALM,
        enabled: true,
        displayName: `Conformance ${REALM}`,
        organizationsEnabled: true,
      });
      realmCreated = true;
      assert.deepEqual(res, { realmName: REALM });
    });

    test("realms.findOne returns the created realm representation", async () => {
      const rep = await kc.realms.findOne({ realm: REALM });
      assert.ok(rep, "findOne returned null/empty for a realm that was just created");
      assert.equal(rep.realm, REALM);
      assert.equal(rep.enabled, true);
      assert.equal(rep.displayName, `Conformance ${REALM}`);
    });

    test("realms.update changes displayName and findOne reads the new value back", async () => {
      await kc.realms.update({ realm: REALM }, { displayName: "Renamed by keycloak-admin-client" });
      const rep = await kc.realms.findOne({ realm: REALM });
      assert.equal(rep.displayName, "Renamed by keycloak-admin-client");
      assert.equal(rep.realm, REALM, "a partial update must not change the realm name");
      assert.equal(rep.enabled, true, "a partial update must not disable the realm");
    });

    test("realms.find lists the new realm (and master)", async () => {
      const realms = await kc.realms.find();
      assert.ok(Array.isArray(realms), `realms.find returned ${typeof realms}`);
      const names = realms.map((r) => r.realm);
      assert.ok(names.includes(REALM), `realms.find() = ${JSON.stringify(names)}`);
      assert.ok(names.includes("master"), `realms.find() = ${JSON.stringify(names)}`);
    });

    test("realms.findOne of an unknown realm resolves to null (404 mapped by the client)", async () => {
      const rep = await kc.realms.findOne({ realm: `conf-node-missing-${suffix}` });
      assert.equal(rep, null);
    });
  });

  describe("clients", () => {
    beforeEach(useTestRealm);

    test("clients.create returns the uuid from Location and clients.find({clientId}) finds that client", async () => {
      const created = await kc.clients.create({
        clientId: "conf-admin-confidential",
        enabled: true,
        protocol: "openid-connect",
        publicClient: false,
        standardFlowEnabled: true,
        serviceAccountsEnabled: true,
        redirectUris: ["http://127.0.0.1:9/callback"],
        attributes: { "pkce.code.challenge.method": "S256" },
      });
      assert.equal(typeof created.id, "string");
      const found = await kc.clients.find({ clientId: "conf-admin-confidential" });
      assert.ok(Array.isArray(found));
      assert.equal(found.length, 1, `clients.find({clientId}) = ${JSON.stringify(found)}`);
      assert.equal(found[0].id, created.id);
      assert.equal(found[0].clientId, "conf-admin-confidential");
      assert.equal(found[0].publicClient, false);
    });

    test("clients.getClientSecret returns a secret and generateNewClientSecret rotates it", async () => {
      const [client] = await kc.clients.find({ clientId: "conf-admin-confidential" });
      const secretBefore = await kc.clients.getClientSecret({ id: client.id });
      assert.equal(secretBefore.type, "secret");
      assert.equal(typeof secretBefore.value, "string");
      assert.ok(secretBefore.value.length > 0);

      const regenerated = await kc.clients.generateNewClientSecret({ id: client.id });
      assert.equal(regenerated.type, "secret");
      assert.equal(typeof regenerated.value, "string");
      assert.notEqual(regenerated.value, secretBefore.value, "generateNewClientSecret must change the secret");

      const secretAfter = await kc.clients.getClientSecret({ id: client.id });
      assert.equal(secretAfter.value, regenerated.value, "getClientSecret must return the regenerated secret");
    });

    test("clients.create of a public client with directAccessGrantsEnabled succeeds", async () => {
      const created = await kc.clients.create({
        clientId: DIRECT_CLIENT,
        enabled: true,
        publicClient: true,
        standardFlowEnabled: false,
        directAccessGrantsEnabled: true,
      });
      assert.equal(typeof created.id, "string");
    });
  });

  describe("users", () => {
    beforeEach(useTestRealm);

    test("users.create returns the id; users.find({username, exact}) returns exactly that user; users.count counts it", async () => {
      const countBefore = await kc.users.count();
      assert.equal(typeof countBefore, "number", `users.count() returned ${JSON.stringify(countBefore)}`);

      const id = await createUser("bob", "Bob-initial-1!");
      // a user whose name has "bob" as a prefix must not match an exact search
      await createUser("bobby", "Bobby-initial-1!");

      const found = await kc.users.find({ username: "bob", exact: true });
      assert.ok(Array.isArray(found));
      assert.equal(found.length, 1, `users.find({username:'bob', exact:true}) = ${JSON.stringify(found)}`);
      assert.equal(found[0].id, id);
      assert.equal(found[0].username, "bob");
      assert.equal(found[0].email, "bob@example.org");
      assert.equal(found[0].enabled, true);

      assert.equal(await kc.users.count(), countBefore + 2);
    });

    test("users.resetPassword sets a password the password grant accepts and retires the old one", async () => {
      const [bob] = await kc.users.find({ username: "bob", exact: true });
      await kc.users.resetPassword({
        id: bob.id,
        credential: { type: "password", value: "Bob-reset-2!", temporary: false },
      });

      const ok = await passwordGrant("bob", "Bob-reset-2!");
      assert.equal(ok.status, 200, `password grant with the new password: ${JSON.stringify(ok.body)}`);
      assert.equal(typeof ok.body.access_token, "string");
      assert.equal(decodeJwtPayload(ok.body.access_token).preferred_username, "bob");

      const old = await passwordGrant("bob", "Bob-initial-1!");
      assert.ok([400, 401].includes(old.status), `old password still accepted? HTTP ${old.status}`);
      assert.equal(old.body.error, "invalid_grant");
    });

    test("users.update changes firstName and findOne reads it back without losing other fields", async () => {
      const [bob] = await kc.users.find({ username: "bob", exact: true });
      const full = await kc.users.findOne({ id: bob.id });
      assert.ok(full, "users.findOne returned null for an existing user");
      // round-trip the server's own representation, as the admin console does
      await kc.users.update({ id: bob.id }, { ...full, firstName: "Robert" });
      const reread = await kc.users.findOne({ id: bob.id });
      assert.equal(reread.firstName, "Robert");
      assert.equal(reread.lastName, "User");
      assert.equal(reread.email, "bob@example.org");
      assert.equal(reread.username, "bob");
      assert.equal(reread.enabled, true);
    });
  });

  describe("roles and realm role mappings", () => {
    beforeEach(useTestRealm);

    test("roles.create returns the role name from Location; roles.findOneByName returns it", async () => {
      const created = await kc.roles.create({ name: "conf-reader", description: "reads things" });
      assert.deepEqual(created, { roleName: "conf-reader" });
      const role = await kc.roles.findOneByName({ name: "conf-reader" });
      assert.ok(role, "findOneByName returned null");
      assert.equal(role.name, "conf-reader");
      assert.equal(role.description, "reads things");
      assert.equal(typeof role.id, "string");
    });

    test("roles.findOneByName of an unknown role resolves to null", async () => {
      assert.equal(await kc.roles.findOneByName({ name: "conf-no-such-role" }), null);
    });

    test("users.addRealmRoleMappings grants the role: listRealmRoleMappings and the access token show it", async () => {
      const userId = await createUser("carol", "Carol-pw-1!");
      const role = await kc.roles.findOneByName({ name: "conf-reader" });
      await kc.users.addRealmRoleMappings({ id: userId, roles: [{ id: role.id, name: role.name }] });

      const mapped = await kc.users.listRealmRoleMappings({ id: userId });
      assert.ok(Array.isArray(mapped));
      assert.ok(
        mapped.some((r) => r.name === "conf-reader" && r.id === role.id),
        `listRealmRoleMappings = ${JSON.stringify(mapped)}`,
      );

      const tok = await passwordGrant("carol", "Carol-pw-1!");
      assert.equal(tok.status, 200, JSON.stringify(tok.body));
      const roles = decodeJwtPayload(tok.body.access_token).realm_access?.roles ?? [];
      assert.ok(roles.includes("conf-reader"), `realm_access.roles = ${JSON.stringify(roles)}`);
    });
  });

  describe("groups", () => {
    beforeEach(useTestRealm);

    test("groups.create returns the id from Location and groups.find lists the group", async () => {
      const created = await kc.groups.create({ name: "conf-group" });
      assert.equal(typeof created.id, "string");
      const groups = await kc.groups.find();
      assert.ok(Array.isArray(groups));
      const g = groups.find((x) => x.name === "conf-group");
      assert.ok(g, `groups.find() = ${JSON.stringify(groups)}`);
      assert.equal(g.id, created.id);
    });
  });

  describe("organizations", () => {
    beforeEach(useTestRealm);

    test("organizations.create returns the id from Location and organizations.find lists it", async () => {
      const created = await kc.organizations.create({
        name: "Conformance Org",
        alias: "conf-org",
        enabled: true,
        domains: [{ name: `conf-${suffix}.example.org` }],
      });
      assert.equal(typeof created.id, "string");
      const orgs = await kc.organizations.find();
      assert.ok(Array.isArray(orgs));
      const org = orgs.find((o) => o.id === created.id);
      assert.ok(org, `organizations.find() = ${JSON.stringify(orgs)}`);
      assert.equal(org.name, "Conformance Org");
      assert.equal(org.alias, "conf-org");
      assert.ok(
        (org.domains ?? []).some((d) => d.name === `conf-${suffix}.example.org`),
        `domains = ${JSON.stringify(org.domains)}`,
      );
    });

    test("organizations.addMember({orgId, userId}) makes listMembers({orgId}) contain the user", async () => {
      const orgs = await kc.organizations.find();
      const org = orgs.find((o) => o.alias === "conf-org");
      assert.ok(org, "organization from the previous test not found");
      const userId = await createUser("dave", "Dave-pw-1!");

      // NB: the client sends the bare user id (not JSON-quoted) with content-type application/json
      await kc.organizations.addMember({ orgId: org.id, userId });

      const members = await kc.organizations.listMembers({ orgId: org.id });
      assert.ok(Array.isArray(members));
      assert.ok(
        members.some((m) => m.id === userId && m.username === "dave"),
        `listMembers = ${JSON.stringify(members)}`,
      );
    });
  });

  describe("user deletion", () => {
    beforeEach(useTestRealm);

    test("users.del removes the user: users.findOne resolves to null and find({exact}) is empty", async () => {
      const id = await createUser("erin", "Erin-pw-1!");
      assert.ok(await kc.users.findOne({ id }));
      await kc.users.del({ id });
      assert.equal(await kc.users.findOne({ id }), null);
      assert.deepEqual(await kc.users.find({ username: "erin", exact: true }), []);
    });
  });

  describe("realm deletion", () => {
    beforeEach(authAsMaster);

    test("realms.del removes the realm: findOne resolves to null and find no longer lists it", async () => {
      await kc.realms.del({ realm: REALM });
      realmCreated = false;
      assert.equal(await kc.realms.findOne({ realm: REALM }), null);
      const names = (await kc.realms.find()).map((r) => r.realm);
      assert.ok(!names.includes(REALM), `realms.find() still lists ${REALM}`);
    });
  });
});
