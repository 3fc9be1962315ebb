/** Typed failures of business rules; the API maps each to one HTTP status (see api/problem.ts). */
export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 422 | 429 | 503,
    readonly title: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class Invalid extends DomainError {
  constructor(
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message, 422, 'Invalid input');
  }
}

export class NotFound extends DomainError {
  constructor(message = 'Not found') {
    super(message, 404, 'Not found');
  }
}

/** `fields`: when the conflict is about one field (a name already taken), Dutch messages per field. */
export class Conflict extends DomainError {
  constructor(
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message, 409, 'Conflict');
  }
}

/**
 * A change based on a version that is no longer the current one (someone else saved in between):
 * refused, so that nobody overwrites work they have not seen.
 */
export class EditedMeanwhile extends DomainError {
  constructor(
    message: string,
    readonly currentVersion: Date,
  ) {
    super(message, 412, 'Precondition failed');
  }
}

export class Unauthorized extends DomainError {
  constructor(message = 'Log in or send an API token (Authorization: Bearer …).') {
    super(message, 401, 'Unauthorized');
  }
}

export class Forbidden extends DomainError {
  constructor(message = 'Your role does not allow this.') {
    super(message, 403, 'Forbidden');
  }
}

export class TooManyRequests extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, 429, 'Too many requests');
  }
}
