// jest setupFile of the e2e-pg project: every startTestApp() runs with a PostgreSQL database.
process.env.PAYMENTS_TEST_MODE = 'postgres';
