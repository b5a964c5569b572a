/** The SQL dialects the backend store runs on. */
export type DialectName = 'sqlite' | 'postgres';
