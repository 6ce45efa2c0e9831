// For unit tests only: a mocked IPC that records every call.
import { mockIPC } from '@tauri-apps/api/mocks';

export type Call = { cmd: string; args: unknown };

/** Records every invoke and answers with `answer(cmd)` (null by default). */
export function record(answer: (cmd: string) => unknown = () => null): Call[] {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    return answer(cmd);
  });
  return calls;
}
