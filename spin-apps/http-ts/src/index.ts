// The http-ts template's Hono variant: a logger middleware, a middleware that
// sets a `server` header on every response, and two routes.
import { Hono } from 'hono';
import type { Context, Next } from 'hono';
import { fire } from 'hono/service-worker';
import { logger } from 'hono/logger';

const app = new Hono();

app.use(logger());

app.use(async (c: Context, next: Next) => {
  c.header('server', 'Spin CLI');
  await next();
});

app.get('/', (c: Context) => c.text('Hello, Spin!'));
app.get('/hello/:name', (c: Context) => c.json({ message: `Hello, ${c.req.param('name')}!` }));

fire(app);
