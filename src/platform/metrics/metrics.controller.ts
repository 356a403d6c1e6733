import { Controller, Get, Inject, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { Public } from '../../security/access';
import { METRICS, type Metrics } from './metrics';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';

/** Prometheus scrapes this (SPEC §5); it is public like /health (SPEC §4.6) and shows no secret. */
@ApiTags('operations')
@Public()
@Controller()
export class MetricsController {
  constructor(@Inject(METRICS) private readonly metrics: Metrics) {}

  @ApiOperation({ summary: 'Prometheus metrics', description: 'The Prometheus text exposition format, for a scraper. No secret is ever a label.' })
  @ApiResponse({
    status: 200,
    description: 'The metrics',
    content: {
      'text/plain': {
        schema: { type: 'string' },
        example: '# HELP ledger_events_appended_total Events appended to the event store by this instance, by stream category.\n# TYPE ledger_events_appended_total counter\nledger_events_appended_total{category="user"} 42\n',
      },
    },
  })
  @Get('metrics')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.metrics.scrape();
    void reply.header('content-type', this.metrics.contentType).header('cache-control', 'no-store');
    return text;
  }
}
