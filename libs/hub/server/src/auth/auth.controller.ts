import { Controller, Get, UseGuards } from '@nestjs/common';
import { mayRead, type Principal } from '@natlens/shared-auth';
import { AuthPrincipal, ReadTokenGuard } from './bearer.guard';

@Controller('api/auth')
export class AuthController {
  /**
   * `GET /api/auth/whoami`: what the presented read-capable token is (the dashboard's sign-in checks a token here
   * before it opens a session). Reads no store.
   */
  @Get('whoami')
  @UseGuards(ReadTokenGuard)
  whoami(@AuthPrincipal() principal: Principal) {
    return { kind: principal.kind, read: mayRead(principal), ingest: principal.kind !== 'read' };
  }
}
