/**
 * The admin pages that take large uploads (a CSV import, a document file). app.ts exempts them
 * from the global body limit: each route counts its own body while it streams, exactly as the
 * API's upload routes do, and checks the form's CSRF field on the way.
 */
export const ADMIN_UPLOAD_PATH = /^\/admin\/(?:subscribers\/imports|documents\/files)\/?$/;
