// The gateway's calls to the services: JSON over HTTP with the internal key, the caller's trace, and
// the services' problems passed through unchanged (a kiosk sees Orders' 422 as Orders wrote it).
import { RetryableError } from "@herald/sdk";
import { SourceProblem } from "@herald/service";
import { type MallbotsConfig, outgoingTraceparent } from "@mallbots/contracts";

export type ServiceName = keyof MallbotsConfig["urls"];
type ProblemCode = ConstructorParameters<typeof SourceProblem>[0];

/** How long a service may take to answer before the gateway answers 503. */
const CALL_TIMEOUT_MS = 10_000;

export interface CallOptions {
  readonly body?: unknown;
  /** The incoming request's `traceparent`, used when no span is active in this process. */
  readonly traceparent?: string | undefined;
  readonly signal?: AbortSignal;
}

/** A problem a service answered, rethrown so @herald/service answers the same status and body. */
function passThrough(service: ServiceName, status: number, body: unknown): Error {
  const problem = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const { type: _type, title: _title, status: _status, code, detail, ...extra } = problem;
  if (typeof code === "string") {
    try {
      // Rebuilt from the catalog (Herald's one list of codes, which every service answers with).
      const rebuilt = new SourceProblem(code as ProblemCode, typeof detail === "string" ? detail : "", extra);
      if (rebuilt.problem.status === status) return rebuilt;
    } catch {
      // Not a catalog code: below.
    }
  }
  // Not one of the catalog's problems (a proxy, a crash page): the service is not answering properly.
  return new RetryableError(`${service} answered ${status} without a catalog problem`);
}

export class Upstream {
  readonly #config: MallbotsConfig;

  constructor(config: MallbotsConfig) {
    this.#config = config;
  }

  /** Calls `service`; a 2xx answer's body (undefined for 204), otherwise the service's problem thrown. */
  async call<T>(service: ServiceName, method: string, path: string, options: CallOptions = {}): Promise<T> {
    return (await this.request<T>(service, method, path, options)).body;
  }

  /** As call(), with the status (a kiosk tells a new order, 201, from a repeated one, 200). */
  async request<T>(
    service: ServiceName,
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {
      "x-api-key": this.#config.internalKey,
      accept: "application/json",
    };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const traceparent = outgoingTraceparent(options.traceparent);
    if (traceparent !== undefined) headers["traceparent"] = traceparent;
    const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
    let response: Response;
    try {
      response = await fetch(`${this.#config.urls[service]}${path}`, {
        method,
        headers,
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (error) {
      // Down, restarting or too slow: the caller may retry (503 handler-unavailable).
      throw new RetryableError(`${service} is unavailable (${(error as Error).message})`, { delayMs: 1_000 });
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new RetryableError(`${service} answered ${response.status} with a body that is not JSON`);
    }
    if (!response.ok) throw passThrough(service, response.status, body);
    return { status: response.status, body: body as T };
  }
}

/** A list a service answers either bare (`[…]`) or wrapped (`{ bots: […] }`). */
export function listOf<T>(answer: unknown, member: string): T[] {
  if (Array.isArray(answer)) return answer as T[];
  const wrapped = (answer as Record<string, unknown> | undefined)?.[member];
  return Array.isArray(wrapped) ? (wrapped as T[]) : [];
}
