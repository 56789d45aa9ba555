// @herald/protocol: the HTTP contract shared by the server, the SDK and the CLI.
export {};
