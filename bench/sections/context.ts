/** What every section of the benchmark is given. */
export type Context = {
  /** A short run (`--quick`): fewer repetitions and samples, shorter loads. */
  quick: boolean;
  /** Repetitions of the ingest comparison (`--reps N`); default 3, 1 when quick. */
  reps: number | null;
  /** The core the servers are pinned to, or null when pinning is not possible. */
  serverCore: number | null;
  /** Start the bot from this checkout instead (`--bot-root DIR`, e.g. an export of an older commit). */
  botRoot: string | null;
  /** `--baseline DIR`: that checkout's bot joins the ingest comparison as `baseline`. */
  baselineRoot: string | null;
  log: (line: string) => void;
};
