import { describe, expect, test } from 'vitest';
import { IpcError } from '../ipc';
import { Loadable } from './loadable.svelte';

/** A promise the test settles by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A Loadable whose reads are answered by the test, in any order. */
function manual(options?: ConstructorParameters<typeof Loadable<string[]>>[2]) {
  const reads: ReturnType<typeof deferred<string[]>>[] = [];
  const loadable = new Loadable<string[]>(
    () => {
      const read = deferred<string[]>();
      reads.push(read);
      return read.promise;
    },
    [],
    options,
  );
  return { loadable, reads };
}

describe('Loadable', () => {
  test('starts with the initial value, no error, and loading as asked', () => {
    expect(manual().loadable.loading).toBe(false);
    const { loadable } = manual({ pending: true });
    expect(loadable.loading).toBe(true);
    expect(loadable.value).toEqual([]);
    expect(loadable.error).toBeNull();
  });

  test('loading is true while a read runs and false after it', async () => {
    const { loadable, reads } = manual();
    const done = loadable.load();
    expect(loadable.loading).toBe(true);
    reads[0].resolve(['a']);
    await done;
    expect(loadable.loading).toBe(false);
    expect(loadable.value).toEqual(['a']);
  });

  test('a failure is kept as an IpcError with its code, and the old value stays', async () => {
    const { loadable, reads } = manual();
    let done = loadable.load();
    reads[0].resolve(['a']);
    await done;

    done = loadable.load();
    reads[1].reject({ code: 'database', message: 'database is locked' });
    await expect(done).resolves.toBeUndefined();
    expect(loadable.error).toBeInstanceOf(IpcError);
    expect(loadable.error?.code).toBe('database');
    expect(loadable.error?.message).toBe('database is locked');
    expect(loadable.value).toEqual(['a']);
    expect(loadable.loading).toBe(false);
  });

  test('an unknown rejection becomes an internal IpcError', async () => {
    const { loadable, reads } = manual();
    const done = loadable.load();
    reads[0].reject('boom');
    await done;
    expect(loadable.error?.code).toBe('internal');
    expect(loadable.error?.message).toBe('boom');
  });

  test('the next successful read clears the error', async () => {
    const { loadable, reads } = manual();
    let done = loadable.load();
    reads[0].reject({ code: 'network', message: 'offline' });
    await done;
    expect(loadable.error?.code).toBe('network');

    done = loadable.load();
    expect(loadable.error?.code).toBe('network');
    reads[1].resolve(['b']);
    await done;
    expect(loadable.error).toBeNull();
    expect(loadable.value).toEqual(['b']);
  });

  test('with reloadsShowLoading false, only the first read shows loading', async () => {
    const { loadable, reads } = manual({ pending: true, reloadsShowLoading: false });
    let done = loadable.load();
    expect(loadable.loading).toBe(true);
    reads[0].resolve(['a']);
    await done;
    expect(loadable.loading).toBe(false);

    done = loadable.load();
    expect(loadable.loading).toBe(false);
    reads[1].resolve(['b']);
    await done;
    expect(loadable.value).toEqual(['b']);
  });

  test('a stale response that arrives after a newer one is ignored', async () => {
    const { loadable, reads } = manual();
    const older = loadable.load();
    const newer = loadable.load();
    reads[1].resolve(['new']);
    await newer;
    expect(loadable.loading).toBe(false);

    reads[0].resolve(['old']);
    await older;
    expect(loadable.value).toEqual(['new']);
  });

  test('a stale failure neither sets the error nor ends the newer read', async () => {
    const { loadable, reads } = manual();
    const older = loadable.load();
    const newer = loadable.load();
    reads[0].reject({ code: 'network', message: 'offline' });
    await older;
    expect(loadable.error).toBeNull();
    expect(loadable.loading).toBe(true);

    reads[1].resolve(['new']);
    await newer;
    expect(loadable.loading).toBe(false);
    expect(loadable.value).toEqual(['new']);
  });

  test('reset drops the value and error and ignores the read still running', async () => {
    const { loadable, reads } = manual();
    const done = loadable.load();
    loadable.reset();
    expect(loadable.loading).toBe(false);
    reads[0].resolve(['late']);
    await done;
    expect(loadable.value).toEqual([]);
    expect(loadable.error).toBeNull();
  });
});
