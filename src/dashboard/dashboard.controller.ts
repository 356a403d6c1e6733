import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { NotFoundError } from '../platform/errors/domain-error';
import { Public } from '../security/access';
import { type DonationsView } from '../treasury/donations/donations.view';
import { GetDonationsQuery } from '../treasury/donations/get-donations.query';
import { DASHBOARD_FILES, type DashboardFiles, notModified, type StaticFile } from './dashboard-files';
import { AcceptsAnyQuery } from '../platform/http/undeclared-input';
import { OperatorQrCodes } from './operator-qr';

/**
 * The public dashboard at `/` and the few files it loads (SPEC §4.6: public, no key). They are
 * not API routes, so they stay out of the OpenAPI document; the page itself reads only the public
 * query routes it shows integrators (GET /v1/leaderboard, /v1/feed, /v1/donations).
 */
@ApiExcludeController()
@Public()
@AcceptsAnyQuery()
@Controller()
export class DashboardController {
  private readonly qrCodes = new OperatorQrCodes();

  constructor(
    @Inject(DASHBOARD_FILES) private readonly files: DashboardFiles,
    private readonly queryBus: QueryBus,
  ) {}

  @Get()
  page(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    send(request, reply, this.files.page);
  }

  @Get('dashboard/dashboard.css')
  stylesheet(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    send(request, reply, this.files.stylesheet);
  }

  @Get('dashboard/dashboard.js')
  script(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    send(request, reply, this.files.script);
  }

  @Get('dashboard/favicon.svg')
  icon(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    send(request, reply, this.files.icon);
  }

  /** The address GET /v1/donations names as `operatorAddress`, as a QR code; 404 while there is none. */
  @Get('dashboard/operator-qr.svg')
  async operatorQr(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const { operatorAddress: address } = await this.queryBus.execute<GetDonationsQuery, DonationsView>(new GetDonationsQuery());
    if (address === null) throw new NotFoundError('operator_address_not_configured', 'No operator address is configured, so there is nothing to donate to yet');
    send(request, reply, await this.qrCodes.forAddress(address));
  }
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile): void {
  void reply.headers({ ...file.headers, etag: file.etag, 'cache-control': file.cacheControl });
  if (notModified(request.headers['if-none-match'], file.etag)) {
    void reply.status(304).send();
    return;
  }
  void reply.status(200).header('content-type', file.contentType).send(file.body);
}
