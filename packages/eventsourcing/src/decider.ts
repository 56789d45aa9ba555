// The decider (Jérémie Chassaing's pattern, as Emmett uses it): the whole behaviour of an aggregate
// in three pure parts. State is the left fold of the stream's events with `evolve` from
// `initialState`; `decide` turns a command and the current state into new events, or throws a
// DomainError. Nothing here does I/O, so deciders are tested with given/when/then alone.

export interface Decider<Command, State, Event> {
  decide(command: Command, state: State): Event | readonly Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** The events decide() returned, as an array (a single event is allowed for brevity). */
export function decisionEvents<Event>(decision: Event | readonly Event[]): readonly Event[] {
  return Array.isArray(decision) ? (decision as readonly Event[]) : [decision as Event];
}

/** The state after `events`, from the decider's initial state (or `from`). */
export function fold<Command, State, Event>(
  decider: Decider<Command, State, Event>,
  events: Iterable<Event>,
  from: State = decider.initialState(),
): State {
  let state = from;
  for (const event of events) state = decider.evolve(state, event);
  return state;
}
