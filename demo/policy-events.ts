/**
 * What the demo's terminal says about the policy: Gatehouse's JSON log lines about policy loads,
 * turned into plain words — a reload ("now serving revision …") and a refused edit (file, line,
 * message; "still serving revision …"). Every line still goes to the decision log file.
 */
import { relative } from 'node:path';

/** The file, line and message of each Rego error in `opa build`'s output. */
export interface RegoProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** Rego errors in `text` (opa prints `<file>:<line>: <rego_…_error>: <message>`), files relative to `root`. */
export function regoProblems(text: string, root: string): RegoProblem[] {
  const problems: RegoProblem[] = [];
  for (const m of text.matchAll(/(\S+\.rego):(\d+)(?::\d+)?: (rego_[a-z_]+_error: [^\n]*)/g)) {
    const file = m[1]!.startsWith('/') ? relative(root, m[1]!) : m[1]!;
    problems.push({ file, line: Number(m[2]), message: m[3]!.trim() });
  }
  return problems;
}

/** The revision as a person reads it: `sha256:0123456789ab…`. */
function short(revision: unknown): string {
  const text = typeof revision === 'string' ? revision : 'unknown';
  return text.length > 19 ? `${text.slice(0, 19)}…` : text;
}

/**
 * The terminal lines for one Gatehouse log line, or none. `root` makes file names relative.
 *
 * @example policyEventLines({ msg: 'policy loaded', trigger: 'watch', policy_revision: 'sha256:…' }, root)
 */
export function policyEventLines(line: Record<string, unknown>, root: string): string[] {
  const msg = line['msg'];
  if (msg === 'policy loaded' && line['trigger'] !== 'start') {
    if (line['previous_revision'] === line['policy_revision']) {
      return [
        `policy reloaded: the edit does not change the compiled policy; still serving revision ${short(line['policy_revision'])}`,
      ];
    }
    return [
      `policy reloaded: now serving revision ${short(line['policy_revision'])} (was ${short(line['previous_revision'])})`,
    ];
  }
  if (
    msg === 'policy reload refused; the last good policy keeps serving' ||
    msg === 'policy load failed'
  ) {
    const err = line['err'] as { message?: unknown; cause?: { message?: unknown } } | undefined;
    const text = [err?.message, err?.cause?.message]
      .filter((t): t is string => typeof t === 'string')
      .join('\n');
    const problems = regoProblems(text, root);
    const what =
      problems.length > 0
        ? problems.map((p) => `  ${p.file}, line ${p.line}: ${p.message}`)
        : [
            `  ${String(line['code'] ?? 'error')}: ${(text.split('\n').find((l) => l.trim() !== '') ?? '').trim()}`,
          ];
    const serving =
      line['policy_revision'] === undefined
        ? 'no policy is loaded: every request is denied'
        : `still serving revision ${short(line['policy_revision'])}`;
    return [
      `policy edit refused (${problems.length === 1 ? '1 problem' : `${Math.max(problems.length, 1)} problems`}):`,
      ...what,
      `  ${serving}`,
    ];
  }
  return [];
}
