// Runs a door controller against a Gatehouse:
//
//   GATEHOUSE_URL=http://localhost:3000/graphql GATEHOUSE_KEY=gh_key_... LOCK_IDS=<id>,<id> \
//     npx tsx examples/door-controller/main.ts
//
// (PLACE_IDS=<id>,... for every lock of places.) Prints each decision; type
// "<memberId> <lockId>" on stdin to ask whether that member may open it now.
import readline from 'node:readline';
import { DoorController } from './controller.js';

const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const url = process.env.GATEHOUSE_URL ?? 'http://localhost:3000/graphql';
const key = process.env.GATEHOUSE_KEY;
if (!key) {
  process.stderr.write('GATEHOUSE_KEY must be a controller key (npm run cli -- apikey create --org DOMAIN --name NAME --role controller --locks ID,... | --places ID,...)\n');
  process.exit(2);
}
const controller = new DoorController({ url, key, lockIds: list(process.env.LOCK_IDS), placeIds: list(process.env.PLACE_IDS) });
await controller.start();
process.stderr.write(`following ${url} from cursor ${controller.cursor}\n`);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [memberId, lockId] = line.trim().split(/\s+/);
  if (memberId && lockId) process.stdout.write(`${controller.mayOpen(memberId, lockId) ? 'OPEN' : 'REFUSE'} ${memberId} at ${lockId}\n`);
});
const stop = () => void controller.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
