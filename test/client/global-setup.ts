import { generateClientTypes } from './generate-client';

/** The client project's jest globalSetup: the types exist before any spec is compiled. */
export default async function globalSetup(): Promise<void> {
  await generateClientTypes();
}
