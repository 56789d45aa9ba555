// Where the CLI writes: data to stdout, messages to stderr.

export interface Output {
  /** One line of data (results, events) on stdout. */
  data(line: string): void;
  /** One line for the human (status, summaries of side effects) on stderr. */
  message(line: string): void;
}

export const processOutput: Output = {
  data(line) {
    process.stdout.write(line + "\n");
  },
  message(line) {
    process.stderr.write(line + "\n");
  },
};
