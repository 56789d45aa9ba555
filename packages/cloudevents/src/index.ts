// Placeholder until the event model lands (see packages/cloudevents/README.md).
export interface CloudEvent {
  readonly specversion: "1.0";
  readonly id: string;
  readonly source: string;
  readonly type: string;
}
