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
