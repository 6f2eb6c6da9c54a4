export function listenAedes(port: number, host: string): Promise<{ port: number; close(): Promise<void> }>;
