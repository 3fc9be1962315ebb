/** @jsxImportSource hono/jsx */
import { adminArea } from './area.js';
import { AdminPage, ROLE_LABELS } from './ui.js';

/** /admin: what needs attention — upcoming sends and posts, recent sends, health. */
export function dashboardPages() {
  const app = adminArea('viewer');
  app.get('/', (c) => {
    const principal = c.var.principal!;
    return c.html(
      <AdminPage c={c} title="Overzicht">
        <p>
          Ingelogd als {principal.user.name || principal.user.email} ({ROLE_LABELS[principal.role]}).
        </p>
      </AdminPage>,
    );
  });
  return app;
}
