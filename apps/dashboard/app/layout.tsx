import type { Metadata, Viewport } from 'next';
import { Suspense } from 'react';
import type { ReactNode } from 'react';
import { Nav } from '../components/Nav';
import './globals.css';

export const metadata: Metadata = { title: 'natlens', description: 'What NAT did to the connections of your Kubernetes Services' };
export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Suspense fallback={<header className="top"><span className="brand">nat<span>lens</span></span></header>}>
          <Nav />
        </Suspense>
        <main>{children}</main>
      </body>
    </html>
  );
}
