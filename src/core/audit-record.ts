/** One audit line. Fields that do not apply are null. Key order is fixed: it is part of the hash. */
export type AuditEntry = {
  ts: string;
  actor_id: number | null;
  actor_name: string | null;
  action: string;
  environment: string | null;
  sha: string | null;
  request_id: string | null;
  outcome: string | null;
  prev_hash: string;
  hash: string;
};

/**
 * What the store remembers of an audit chain, apart from its file: how many lines it had and the
 * last one's hash, advanced after every append. A file with fewer lines, or whose line at that count
 * has another hash, lost lines at the end, which the hash chain alone cannot show.
 */
export type AuditAnchor = {
  /** The chain's name: the audit file's absolute path. */
  chain: string;
  count: number;
  hash: string;
};
