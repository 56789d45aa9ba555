// One push attempt to a webhook sink: CloudEvents HTTP binary mode (structured on request),
// Standard Webhooks signature when the subscription has a secret, a per-attempt timeout, and the
// answer classified as ack / retry / reject. A 2xx answer carrying a CloudEvent is returned as the reply.
import http from "node:http";
import https from "node:https";
import { type CloudEvent, decodeHttp, encodeHttp } from "@herald/cloudevents";
import {
  CE_HEADER_PREFIX,
  CLOUDEVENTS_JSON_MEDIA_TYPE,
  CONTENT_LENGTH_HEADER,
  CONTENT_TYPE_HEADER,
  parseRetryAfter,
  RETRY_AFTER_HEADER,
  webhookHeaders,
} from "@herald/protocol";
import type { PushOutcome } from "./push-delivery.js";
import type { JsonObject, SubscriptionResource } from "./model.js";
import type { PushCancel } from "./push-cancel.js";
import { type SinkPolicy, SinkRefusedError } from "./sink-policy.js";

const MAX_REPLY_BYTES = 1024 * 1024;

export interface PushTarget {
  readonly subscriptionId: string;
  readonly url: string;
  readonly method: "POST" | "PUT";
  readonly headers: Readonly<Record<string, string>>;
  readonly contentMode: "binary" | "structured";
  readonly secret: string | undefined;
  readonly timeoutMs: number;
  readonly backoffCapMs: number;
}

export type PushResult = PushOutcome & { readonly reply?: CloudEvent };

export function pushTarget(
  resource: SubscriptionResource,
  settings: {
    contentMode: "binary" | "structured";
    secret: string | undefined;
    timeoutMs: number;
    backoff: { capMs: number };
  },
): PushTarget {
  const httpSettings = (resource.protocolsettings ?? {}) as JsonObject;
  const headers: Record<string, string> = { ...((httpSettings.headers as Record<string, string>) ?? {}) };
  const credential = resource.sinkcredential;
  if (credential?.credentialtype === "PLAIN") {
    const basic = Buffer.from(`${credential.identifier}:${credential.secret}`).toString("base64");
    headers.authorization = `Basic ${basic}`;
  } else if (credential && typeof credential.accesstoken === "string") {
    const type = typeof credential.accesstokentype === "string" ? credential.accesstokentype : "Bearer";
    headers.authorization = `${type.charAt(0).toUpperCase()}${type.slice(1)} ${credential.accesstoken}`;
  }
  return {
    subscriptionId: resource.id,
    url: resource.sink!,
    method: httpSettings.method === "PUT" ? "PUT" : "POST",
    headers,
    contentMode: settings.contentMode,
    secret: settings.secret,
    timeoutMs: settings.timeoutMs,
    backoffCapMs: settings.backoff.capMs,
  };
}

export class PushClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });

  /**
   * The policy's verdict per sink URL (both are fixed for the process's life), as ready request
   * options: converting a URL into options on every attempt showed up in the push profile.
   */
  private readonly checked = new Map<string, SinkAddress | Error>();

  constructor(private readonly policy: SinkPolicy) {}

  private checkedUrl(sink: string): SinkAddress {
    let verdict = this.checked.get(sink);
    if (verdict === undefined) {
      try {
        verdict = sinkAddress(this.policy.checkUrl(sink));
      } catch (error) {
        verdict = error as Error;
      }
      if (this.checked.size > 10_000) this.checked.clear();
      this.checked.set(sink, verdict);
    }
    if (verdict instanceof Error) throw verdict;
    return verdict;
  }

  async attempt(
    target: PushTarget,
    event: CloudEvent,
    position: number,
    cancel: PushCancel,
  ): Promise<PushResult> {
    let url: SinkAddress;
    try {
      url = this.checkedUrl(target.url);
    } catch (error) {
      return { kind: "reject", failure: { error: (error as Error).message } };
    }
    const encoded = encodeHttp(event, target.contentMode);
    const body = toBuffer(encoded.body);
    const headers: Record<string, string> = { ...target.headers };
    for (const [name, value] of Object.entries(encoded.headers)) headers[name.toLowerCase()] = String(value);
    if (target.secret !== undefined) {
      Object.assign(headers, webhookHeaders(target.secret, `${target.subscriptionId}:${position}`, body));
    }
    headers[CONTENT_LENGTH_HEADER] = String(body.length);

    let response: { status: number; headers: http.IncomingHttpHeaders; body: Buffer | undefined };
    try {
      response = await this.send(url, target, headers, body, cancel);
    } catch (error) {
      if (error instanceof SinkRefusedError) return { kind: "reject", failure: { error: error.message } };
      return { kind: "retry", failure: { error: (error as Error).message } };
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      const reply = decodeReply(response.headers, response.body);
      return reply ? { kind: "ack", status, reply } : { kind: "ack", status };
    }
    const failure = { status, error: `sink answered ${status}` };
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfter =
        status === 429 || status === 503
          ? parseRetryAfter(response.headers[RETRY_AFTER_HEADER], target.backoffCapMs)
          : undefined;
      return retryAfter === undefined
        ? { kind: "retry", failure }
        : { kind: "retry", failure, retryAfterMs: retryAfter };
    }
    return { kind: "reject", failure };
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private send(
    url: SinkAddress,
    target: PushTarget,
    headers: Record<string, string>,
    body: Buffer,
    cancel: PushCancel,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer | undefined }> {
    if (cancel.aborted) return Promise.reject(new Error("push aborted: the subscription stopped"));
    return new Promise((resolve, reject) => {
      const req = (url.secure ? https : http).request({
        ...url.options,
        method: target.method,
        headers,
        agent: url.secure ? this.httpsAgent : this.httpAgent,
        lookup: this.policy.lookup as unknown as http.RequestOptions["lookup"],
      });
      cancel.onAbort(() => req.destroy(new Error("push aborted: the subscription stopped")));
      const timer = setTimeout(
        () => req.destroy(new Error(`sink did not answer within ${target.timeoutMs} ms`)),
        target.timeoutMs,
      );
      req.on("error", (error) => {
        clearTimeout(timer);
        cancel.clear();
        reject(error);
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let tooBig = false;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) tooBig = true;
          else chunks.push(chunk);
        });
        res.on("error", (error) => {
          clearTimeout(timer);
          cancel.clear();
          reject(error);
        });
        res.on("end", () => {
          clearTimeout(timer);
          cancel.clear();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: tooBig ? undefined : Buffer.concat(chunks, size),
          });
        });
      });
      req.end(body);
    });
  }
}

/** A checked sink URL as node:http request options. */
interface SinkAddress {
  readonly secure: boolean;
  readonly options: Readonly<Pick<http.RequestOptions, "protocol" | "hostname" | "port" | "path" | "auth">>;
}

function sinkAddress(url: URL): SinkAddress {
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return {
    secure: url.protocol === "https:",
    options: {
      protocol: url.protocol,
      hostname,
      ...(url.port === "" ? {} : { port: Number(url.port) }),
      path: `${url.pathname}${url.search}`,
      ...(url.username || url.password
        ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` }
        : {}),
    },
  };
}

/** A CloudEvent in a 2xx answer (binary or structured); anything else is no reply. */
function decodeReply(headers: http.IncomingHttpHeaders, body: Buffer | undefined): CloudEvent | undefined {
  const contentType = header(headers[CONTENT_TYPE_HEADER]) ?? "";
  const looksLikeEvent =
    headers[`${CE_HEADER_PREFIX}specversion`] !== undefined ||
    contentType.startsWith(CLOUDEVENTS_JSON_MEDIA_TYPE);
  if (!looksLikeEvent || body === undefined) return undefined;
  try {
    return decodeHttp({ headers, body })[0];
  } catch {
    return undefined;
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function toBuffer(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.from(String(body), "utf8");
}
