import type { Watch } from '@kubernetes/client-node';

/** Watch event types of the API (metav1.WatchEvent) that carry an object; ERROR carries a Status. */
const OBJECT_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED']);

export interface WatchGuardHooks {
  /** The informer was stopped: open no new watch, close one that opens late. */
  isStopped(): boolean;
  /** The informer opens a watch: its list (if any) has been applied, so its cache is complete. */
  onWatchOpening(resourceVersion: string | undefined): void;
  /** An event that the informer will apply. */
  onEvent(type: string): void;
  /** A Status the server sent as an ERROR event (410 Expired makes the informer re-list). */
  onErrorStatus(status: unknown): void;
  /** An event the informer would choke on, dropped here. */
  onMalformed(reason: string): void;
}

function metadataOf(object: unknown): Record<string, unknown> | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const metadata = (object as { metadata?: unknown }).metadata;
  return typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : undefined;
}

/** Whether the informer can apply the event: objects need a name; a BOOKMARK only a resourceVersion. */
function applicable(phase: string, object: unknown): boolean {
  const metadata = metadataOf(object);
  if (phase === 'BOOKMARK') return metadata !== undefined;
  return OBJECT_EVENTS.has(phase) && typeof metadata?.['name'] === 'string';
}

/**
 * Wraps the client's Watch for its ListWatch informer, for three gaps of @kubernetes/client-node 1.4:
 * - the informer dereferences `object.metadata` of every event inside an un-awaited async handler, so one event
 *   without metadata would be an unhandled rejection, which ends a Node process: such events are dropped and counted;
 * - `ListWatch.stop()` only aborts a watch that is already open, so a list or a connect in flight at stop would
 *   open a watch afterwards: one that opens after stop is aborted at once;
 * - the informer reports nothing on a successful (re)connect after its list: `onWatchOpening` is that signal.
 */
export function guardWatch(inner: Watch, hooks: WatchGuardHooks): Watch {
  return {
    config: inner.config,
    async watch(path, queryParams, callback, done) {
      if (hooks.isStopped()) {
        done(null);
        return new AbortController();
      }
      const resourceVersion = queryParams['resourceVersion'];
      hooks.onWatchOpening(resourceVersion === undefined ? undefined : String(resourceVersion));
      const guarded = (phase: string, object: unknown, watchObject?: unknown): void => {
        if (phase === 'ERROR') {
          hooks.onErrorStatus(object);
          callback(phase, object ?? {}, watchObject);
        } else if (!applicable(phase, object)) {
          hooks.onMalformed(`watch event ${JSON.stringify(phase)}: not an event type with an object that has metadata.name`);
        } else {
          hooks.onEvent(phase);
          callback(phase, object, watchObject);
        }
      };
      const controller = await inner.watch(path, queryParams, guarded, done);
      if (hooks.isStopped()) controller.abort();
      return controller;
    },
  };
}
