// Lazily loaded 24 h sparklines for the monitor list: only rows on screen ask for
// theirs, a few requests run at once, results are cached for five minutes, and a 429
// pauses the queue for as long as the server asks.
import { api, ApiError, type SeriesPoint } from './api';

export interface Spark {
  points: SeriesPoint[];
  at: number;
}

const TTL = 5 * 60_000;
const CONCURRENCY = 4;

const cache = new Map<string, Spark>();
const wanted = new Set<string>();
const queue: string[] = [];
const inFlight = new Set<string>();
const listeners = new Map<string, Set<(s: Spark) => void>>();
let pausedUntil = 0;
let timer: ReturnType<typeof setTimeout> | null = null;

export function cachedSpark(id: string): Spark | undefined {
  return cache.get(id);
}

/** Ask for `id`'s sparkline while subscribed; returns the unsubscribe function. */
export function watchSpark(id: string, fn: (s: Spark) => void): () => void {
  let set = listeners.get(id);
  if (!set) listeners.set(id, (set = new Set()));
  set.add(fn);
  wanted.add(id);
  const hit = cache.get(id);
  if (hit) fn(hit);
  if ((!hit || Date.now() - hit.at > TTL) && !inFlight.has(id) && !queue.includes(id)) {
    queue.push(id);
    pump();
  }
  return () => {
    set!.delete(fn);
    if (set!.size === 0) {
      listeners.delete(id);
      wanted.delete(id);
    }
  };
}

function pump() {
  const wait = pausedUntil - Date.now();
  if (wait > 0) {
    if (!timer) timer = setTimeout(() => ((timer = null), pump()), wait);
    return;
  }
  while (inFlight.size < CONCURRENCY && queue.length) {
    const id = queue.shift()!;
    if (!wanted.has(id)) continue; // scrolled away before its turn
    inFlight.add(id);
    api
      .series(id, '24h', '1h')
      .then((s) => {
        const spark = { points: s.points, at: Date.now() };
        cache.set(id, spark);
        listeners.get(id)?.forEach((fn) => fn(spark));
      })
      .catch((e) => {
        if (e instanceof ApiError && e.status === 429) {
          pausedUntil = Date.now() + (e.retryAfter ?? 30) * 1000;
          queue.unshift(id);
        }
      })
      .finally(() => {
        inFlight.delete(id);
        pump();
      });
  }
}

/** Test hook: forget everything. */
export function resetSparks() {
  cache.clear();
  wanted.clear();
  queue.length = 0;
  inFlight.clear();
  listeners.clear();
  pausedUntil = 0;
}
