/**
 * Watching files that deployments replace rather than edit: a policy bundle or Rego folder, TLS
 * certificates and keys.
 *
 * `fs.watch` alone is not enough for how they change in practice:
 * - a file replaced by rename leaves a watch on the old inode (watch the folder, not the file);
 * - a folder deleted and created again leaves a watch on a folder that no longer exists;
 * - a Kubernetes ConfigMap or Secret volume updates by writing a new hidden folder and swapping
 *   the `..data` symlink the visible names point through: the visible names never change, so an
 *   event filter on them sees nothing.
 *
 * So the watcher compares *fingerprints*: the resolved path, inode, size and mtime of every
 * watched file, following symlinks. Any event in a watched folder (or in the parent of a watched
 * path), and a periodic poll as a safety net, recomputes the fingerprint; only a change calls
 * `onChange`. Watches are re-armed whenever the folders themselves changed.
 */
import { readdirSync, realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Options for {@link watchFiles}. */
export interface WatchFilesOptions {
  /** Files, or folders whose files (recursively, hidden entries skipped) are watched. */
  readonly paths: readonly string[];
  /** Which files in a watched folder count (by name); default: all. */
  readonly include?: (name: string) => boolean;
  /** Folder names not descended into (besides hidden ones). */
  readonly skipDirs?: readonly string[];
  /** Called (debounced) after the fingerprint changed. */
  readonly onChange: () => void;
  /** A folder that exists could not be watched (the poll still covers it). */
  readonly onError?: (error: unknown) => void;
  /** Quiet period after the last event before comparing (default 200 ms). */
  readonly debounceMs?: number;
  /** Safety-net poll period (default 2000 ms; 0 disables). */
  readonly pollMs?: number;
}

/** A running watcher. */
export interface FileWatcher {
  /** The fingerprint now (for tests and logs). */
  fingerprint(): string;
  close(): void;
}

/**
 * Watch `paths` robustly (see the module comment). The first fingerprint is taken now, so a
 * change made right after this call is seen.
 *
 * @example
 *   const watcher = watchFiles({ paths: ['/etc/gatehouse/policy/bundle.tar.gz'], onChange: () => void engine.reload() });
 */
export function watchFiles(options: WatchFilesOptions): FileWatcher {
  const paths = options.paths.map((p) => resolve(p));
  const include = options.include ?? (() => true);
  const skip = new Set(options.skipDirs ?? []);
  const watchers = new Map<string, { watcher: FSWatcher; ino: number }>();
  let last = fingerprintOf(paths, include, skip);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const compare = (): void => {
    if (closed) return;
    rearm();
    const now = fingerprintOf(paths, include, skip);
    if (now === last) return;
    last = now;
    options.onChange();
  };
  const schedule = (): void => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      compare();
    }, options.debounceMs ?? 200);
    timer.unref();
  };
  const rearm = (): void => {
    const wanted = new Map<string, number>();
    for (const path of paths) {
      // The parent sees the path itself deleted, re-created, renamed over, or a `..data` swap.
      addDir(wanted, dirname(path));
      for (const dir of foldersOf(path, skip)) addDir(wanted, dir);
    }
    for (const [dir, current] of watchers) {
      if (wanted.get(dir) !== current.ino) {
        current.watcher.close();
        watchers.delete(dir);
      }
    }
    for (const [dir, ino] of wanted) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, schedule);
        watcher.on('error', () => {
          // The folder went away (expected: deleted and re-created, or swapped): forget this
          // watch; the next event or the poll re-arms it.
          watcher.close();
          if (watchers.get(dir)?.watcher === watcher) watchers.delete(dir);
          schedule();
        });
        watchers.set(dir, { watcher, ino });
      } catch (error) {
        options.onError?.(error);
      }
    }
  };
  rearm();
  const poll =
    (options.pollMs ?? 2000) > 0 ? setInterval(compare, options.pollMs ?? 2000) : undefined;
  poll?.unref();

  return {
    fingerprint: () => fingerprintOf(paths, include, skip),
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
      for (const { watcher } of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

function addDir(into: Map<string, number>, dir: string): void {
  try {
    into.set(dir, statSync(dir).ino);
  } catch {
    // Not there (yet): the parent's watch or the poll notices when it appears.
  }
}

/** `path` and every folder below it when it is a folder (hidden ones and `skip` excepted). */
function foldersOf(path: string, skip: ReadonlySet<string>): string[] {
  try {
    if (!statSync(path).isDirectory()) return [];
  } catch {
    return [];
  }
  const out = [path];
  try {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || skip.has(entry.name)) continue;
      const child = join(path, entry.name);
      if (entry.isDirectory()) out.push(...foldersOf(child, skip));
    }
  } catch {
    // Vanished while listing: the next event or poll catches up.
  }
  return out;
}

/** One line per watched file: resolved path, inode, size, mtime (symlinks followed). */
function fingerprintOf(
  paths: readonly string[],
  include: (name: string) => boolean,
  skip: ReadonlySet<string>,
): string {
  const lines: string[] = [];
  const visit = (path: string, top: boolean): void => {
    let real: string;
    try {
      real = realpathSync(path);
      const stat = statSync(real);
      if (stat.isDirectory()) {
        const names = readdirSync(path).sort();
        for (const name of names) {
          if (name.startsWith('.') || skip.has(name)) continue;
          const child = join(path, name);
          let isDir = false;
          try {
            isDir = statSync(child).isDirectory();
          } catch {
            continue;
          }
          if (isDir || include(name)) visit(child, false);
        }
        return;
      }
      lines.push(`${path}\t${real}\t${stat.ino}\t${stat.size}\t${stat.mtimeMs}\t${stat.ctimeMs}`);
    } catch {
      if (top) lines.push(`${path}\tmissing`);
    }
  };
  for (const path of paths) visit(path, true);
  return lines.join('\n');
}
