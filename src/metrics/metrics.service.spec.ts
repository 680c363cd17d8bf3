import fc from 'fast-check';
import { ERROR_CATALOGUE } from '../errors';
import { MetricsService } from './metrics.service';

/** The two request metrics of an exposition (the default process metrics vary between calls). */
async function requestMetrics(metrics: MetricsService): Promise<string> {
  const text = await metrics.registry.metrics();
  return text
    .split('\n')
    .filter((line) => /^(# (HELP|TYPE) )?http_request/.test(line))
    .join('\n');
}

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'DELETE'),
  route: fc.constantFrom('/payments', '/payments/:id', '(unmatched)', '/metrics'),
  status: fc.constantFrom(200, 201, 400, 404, 503),
  seconds: fc.oneof(
    fc.double({ min: 0, max: 5, noNaN: true }),
    fc.constantFrom(0, 0.0005, 0.001, 0.0025, 0.005, 0.01, 2.5, 2.5000001, 10),
  ),
});

describe('MetricsService.recordRequest', () => {
  it('gives the same exposition as prom-client inc() + observe() for any sequence of requests', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { maxLength: 60 }), async (requests) => {
        const fast = new MetricsService();
        const plain = new MetricsService();
        for (const r of requests) {
          fast.recordRequest(r.method, r.route, r.status, r.seconds);
          const labels = { method: r.method, route: r.route, status: String(r.status) };
          plain.httpRequests.inc(labels);
          plain.httpDuration.observe(labels, r.seconds);
        }
        expect(await requestMetrics(fast)).toBe(await requestMetrics(plain));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps counting after the metrics are reset', async () => {
    const metrics = new MetricsService();
    metrics.recordRequest('GET', '/payments/:id', 200, 0.001);
    metrics.recordRequest('GET', '/payments/:id', 200, 0.001);
    metrics.registry.resetMetrics();
    metrics.recordRequest('GET', '/payments/:id', 200, 0.001);
    expect(await requestMetrics(metrics)).toMatch(/^http_requests_total\{method="GET",route="\/payments\/:id",status="200"\} 1$/m);
  });
});

/** One sample's value in an exposition, or undefined when the series is not there. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('MetricsService naming', () => {
  it('ends every counter in _total and no other metric (prom-client\'s _total gauges are left out)', async () => {
    const text = await new MetricsService().registry.metrics();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name, type }));

    expect(types.length).toBeGreaterThan(20);
    expect(types.filter(({ name, type }) => name.endsWith('_total') !== (type === 'counter'))).toEqual([]);
    // the per-type gauges they summed stay
    expect(types).toEqual(expect.arrayContaining([{ name: 'nodejs_active_handles', type: 'gauge' }]));
  });
});

describe('MetricsService.recordProblem', () => {
  it('has every code of the catalogue at 0 before the first problem', async () => {
    const text = await new MetricsService().registry.metrics();

    for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
      expect({ code, value: sample(text, `payments_http_problems_total{code="${code}",status="${status}"}`) }).toEqual({ code, value: 0 });
    }
  });

  it('counts each problem under its code and the catalogue\'s status', async () => {
    const metrics = new MetricsService();
    metrics.recordProblem('OVERLOADED');
    metrics.recordProblem('OVERLOADED');
    metrics.recordProblem('VALIDATION_FAILED');
    const text = await metrics.registry.metrics();

    expect(sample(text, 'payments_http_problems_total{code="OVERLOADED",status="503"}')).toBe(2);
    expect(sample(text, 'payments_http_problems_total{code="VALIDATION_FAILED",status="400"}')).toBe(1);
    expect(sample(text, 'payments_http_problems_total{code="STORE_FULL",status="507"}')).toBe(0);
  });
});

describe('MetricsService.upGauge', () => {
  it('reads 1 while the check passes and 0 when it answers false or fails, never the last value', async () => {
    const metrics = new MetricsService();
    const answers: Array<() => Promise<boolean>> = [
      async () => true,
      async () => {
        throw new Error('connection refused');
      },
      async () => true,
      async () => false,
    ];
    let next = 0;
    metrics.upGauge('thing_up', 'the thing answers', () => answers[next++]());
    const reads: Array<number | undefined> = [];
    for (let i = 0; i < answers.length; i++) reads.push(sample(await metrics.registry.metrics(), 'thing_up'));

    expect(reads).toEqual([1, 0, 1, 0]);
  });
});
