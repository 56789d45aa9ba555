// JWT verification against a JWKS endpoint (jose's remote key set, fetched and cached): a token signed
// by the published key passes with its scopes, one signed by another key is token-invalid.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Type } from "@sinclair/typebox";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { type App, createApp, defineEventSource } from "../src/index.js";
import { quietLogger } from "./support.js";

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

describe("JWT with a JWKS URL", () => {
  let jwks: http.Server;
  let app: App;
  let fetches = 0;
  let signer: PrivateKey;
  let stranger: PrivateKey;

  before(async () => {
    const published = await generateKeyPair("RS256");
    signer = published.privateKey;
    stranger = (await generateKeyPair("RS256")).privateKey;
    const jwk = { ...(await exportJWK(published.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    jwks = http.createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    const { port } = jwks.address() as AddressInfo;
    app = await createApp({
      definitions: [
        defineEventSource({
          trigger: "http.get./me",
          output: { 200: Type.Object({ subject: Type.String(), scopes: Type.Array(Type.String()) }) },
          auth: { scopes: ["me:read"] },
          handler: (_input, ctx) => ({
            status: 200,
            body: { subject: ctx.principal.subject, scopes: [...ctx.principal.scopes] },
          }),
        }),
      ],
      auth: {
        jwt: { jwksUrl: `http://127.0.0.1:${port}/jwks.json`, issuer: "https://id.test", audience: "api" },
      },
      logger: quietLogger(),
    }).start();
  });
  after(async () => {
    await app.stop();
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
  });

  const token = (key: PrivateKey, scope: string[]) =>
    new SignJWT({ scope })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer("https://id.test")
      .setAudience("api")
      .setSubject("erin")
      .setExpirationTime("5m")
      .sign(key);
  const me = async (jwt: string) => fetch(`${app.url}/me`, { headers: { authorization: `Bearer ${jwt}` } });

  it("accepts the published key's tokens (scopes as an array claim) and caches the key set", async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await me(await token(signer, ["me:read", "x"]));
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { subject: "erin", scopes: ["me:read", "x"] });
    }
    assert.equal(fetches, 1, "the JWKS is fetched once");
  });

  it("refuses another key's token (token-invalid) and a token without the scope (forbidden)", async () => {
    const forged = await me(await token(stranger, ["me:read"]));
    assert.equal(forged.status, 401);
    assert.equal(((await forged.json()) as { code: string }).code, "token-invalid");
    const narrow = await me(await token(signer, ["other"]));
    assert.equal(narrow.status, 403);
    assert.equal(((await narrow.json()) as { code: string }).code, "forbidden");
  });
});
