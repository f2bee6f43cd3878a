import type { Metadata, Viewport } from 'next';
import { Suspense } from 'react';
import type { ReactNode } from 'react';
import { Nav } from '../components/Nav';
import { currentSession } from '../lib/session-server';
import './globals.css';

export const metadata: Metadata = { title: 'natlens', description: 'What NAT did to the connections of your Kubernetes Services' };
export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

const brandOnly = (
  <header className="top">
    <span className="brand">
      nat<span>lens</span>
    </span>
  </header>
);

/** Signed in: the navigation and who is signed in; else the brand only (the sign-in page). */
export default async function RootLayout({ children }: { children: ReactNode }) {
  const session = await currentSession();
  return (
    <html lang="en">
      <body>
        {session ? (
          <Suspense fallback={brandOnly}>
            <Nav user={session.user} />
          </Suspense>
        ) : (
          brandOnly
        )}
        <main>{children}</main>
      </body>
    </html>
  );
}
