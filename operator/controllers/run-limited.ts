/** Runs jobs with at most `limit` in flight, each to the end whatever the others do; resolves with their errors. */
export async function runLimited(jobs: readonly (() => Promise<void>)[], limit: number): Promise<unknown[]> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (job) await job().catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return errors;
}
