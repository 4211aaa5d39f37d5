/**
 * Preloaded into Gatehouse by bench/survivors.ts (`node --import`): on SIGWINCH, starts V8's
 * sampling heap profiler keeping only the samples of objects that survive young-generation
 * collections (`includeObjectsCollectedByMajorGC` without `…ByMinorGC`): what reaches old space,
 * by allocating function. At exit it writes the profile to the file named by
 * GATEHOUSE_SURVIVORS_OUT. Gatehouse itself does not handle SIGWINCH (its default is to ignore it).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env['GATEHOUSE_SURVIVORS_OUT'];
if (out !== undefined && out !== '') {
  const session = new Session();
  session.connect();
  let started = false;
  process.on('SIGWINCH', () => {
    if (started) return;
    started = true;
    session.post('HeapProfiler.enable');
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMinorGC: false,
      includeObjectsCollectedByMajorGC: true,
    });
  });
  // An in-process session answers synchronously, so this runs to the end inside 'exit'.
  process.on('exit', () => {
    if (!started) return;
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (err === null) writeFileSync(out, JSON.stringify(result.profile));
    });
  });
}
