import fc from 'fast-check';
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
