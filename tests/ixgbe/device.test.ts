// Device initialisation against a plain-memory register file: what the driver writes, and the clear errors it
// gives when the device is wrong or a hardware bit never flips.
import { SimulatedEnvironment } from '../../src/env/simulated';
import { TinyNfError } from '../../src/env/environment';
import { Device } from '../../src/ixgbe/device';
import * as pci from '../../src/ixgbe/pci';
import * as R from '../../src/ixgbe/registers';
import { FAKE_ADDRESS, FakePlatform } from './helpers/fake-platform';

function setup(): { platform: FakePlatform; env: SimulatedEnvironment } {
  const platform = new FakePlatform();
  return { platform, env: new SimulatedEnvironment(platform) };
}

function initError(platform: FakePlatform): TinyNfError {
  try {
    Device.init(new SimulatedEnvironment(platform), FAKE_ADDRESS);
  } catch (e) {
    expect(e).toBeInstanceOf(TinyNfError);
    expect((e as Error).message).not.toContain('\n');
    return e as TinyNfError;
  }
  throw new Error('Device.init did not fail');
}

describe('register helpers', () => {
  test('bit and bits build unsigned masks', () => {
    expect(R.bit(31)).toBe(0x80000000);
    expect(R.bits(0, 31)).toBe(0xffffffff);
    expect(R.bits(19, 24)).toBe(0x01f80000);
    expect(R.bits(5, 18)).toBe(0x0007ffe0);
  });

  test('queue register formulas follow Section 8.2.2', () => {
    expect(R.RXDCTL(0)).toBe(0x01028);
    expect(R.RXDCTL(63)).toBe(0x01028 + 0x40 * 63);
    expect(R.RXDCTL(64)).toBe(0x0d028);
    expect(R.RDT(127)).toBe(0x0d018 + 0x40 * 63);
    expect(R.TDWBAL(3)).toBe(0x06038 + 0xc0);
    expect(R.EIMC(0)).toBe(0x00888);
    expect(R.EIMC(2)).toBe(0x00ab4);
    expect(R.RAL(0)).toBe(0x05400);
  });
});

describe('Device.init on a plain register file', () => {
  test('programs the registers TinyNF programs, and promiscuous mode', () => {
    const { platform, env } = setup();
    platform.setReg(R.RDRXCTL, R.RDRXCTL_DMAIDONE | R.RDRXCTL_RSCFRSTSIZE);
    platform.setReg(R.RTTDQSEL, 0);
    const device = Device.init(env, FAKE_ADDRESS);
    expect(device.address).toBe(FAKE_ADDRESS);
    const command = platform.config[pci.PCI_COMMAND / 4];
    expect(command & pci.PCI_COMMAND_BUS_MASTER_ENABLE).not.toBe(0);
    expect(command & pci.PCI_COMMAND_MEMORY_ACCESS_ENABLE).not.toBe(0);
    expect(command & pci.PCI_COMMAND_INTERRUPT_DISABLE).not.toBe(0);
    // reset requested, master disabled before it
    expect(platform.resetsSeen).toBeGreaterThan(0);
    expect(platform.reg(R.CTRL) & R.CTRL_MASTER_DISABLE).not.toBe(0);
    expect(platform.reg(R.EIMC(0))).toBe(0x7fffffff);
    expect(platform.reg(R.EIMC(1))).toBe(0xffffffff);
    expect(platform.reg(R.FCRTH(0))).toBe(0x0007a000);
    const rdrxctl = platform.reg(R.RDRXCTL);
    expect(rdrxctl & R.RDRXCTL_CRC_STRIP).not.toBe(0);
    expect(rdrxctl & R.RDRXCTL_RSCFRSTSIZE).toBe(0);
    expect(rdrxctl & R.RDRXCTL_RSCACKC).not.toBe(0);
    expect(rdrxctl & R.RDRXCTL_FCOE_WRFIX).not.toBe(0);
    expect(platform.reg(R.MPSAR(0))).toBe(1);
    expect(platform.reg(R.MFLCN) & R.MFLCN_RFCE).not.toBe(0);
    expect((platform.reg(R.FCCFG) & R.FCCFG_TFCE) >>> 3).toBe(1);
    expect(platform.reg(R.RTTDQSEL)).toBe(127);
    expect(platform.reg(R.TXPBTHRESH(0)) & R.TXPBTHRESH_THRESH).toBe(0x9e);
    expect(platform.reg(R.DTXMXSZRQ) & R.DTXMXSZRQ_MAX_BYTES_NUM_REQ).toBe(0xfff);
    expect(platform.reg(R.RTTDCS) & R.RTTDCS_ARBDIS).toBe(0);
    expect(platform.reg(R.FCTRL) & (R.FCTRL_UPE | R.FCTRL_MPE)).toBe(R.FCTRL_UPE | R.FCTRL_MPE);
    // init leaves receive off: no queue has been set up yet
    expect(platform.reg(R.RXCTRL) & R.RXCTRL_RXEN).toBe(0);
  });

  test('promiscuous mode toggles RXEN off and back on when receive is running', () => {
    const { platform, env } = setup();
    const device = Device.init(env, FAKE_ADDRESS);
    platform.setReg(R.RXCTRL, R.RXCTRL_RXEN);
    platform.setReg(R.FCTRL, 0);
    const seen: number[] = [];
    const original = device.write.bind(device);
    device.write = (reg: number, value: number) => {
      if (reg === R.RXCTRL || reg === R.FCTRL) seen.push(reg, value);
      original(reg, value);
    };
    device.setPromiscuous();
    expect(seen).toEqual([R.RXCTRL, 0, R.FCTRL, R.FCTRL_UPE, R.FCTRL, R.FCTRL_UPE | R.FCTRL_MPE, R.RXCTRL, R.RXCTRL_RXEN]);
  });

  test('refuses another device', () => {
    const { platform } = setup();
    platform.config[0] = (0x1528 << 16) | 0x8086;
    expect(initError(platform).message).toMatch(/8086:1528 is not an Intel 82599ES/);
  });

  test('refuses a device not in D0', () => {
    const { platform } = setup();
    platform.config[pci.PCI_PMCSR / 4] = 3;
    expect(initError(platform).message).toMatch(/power state D3, not D0/);
  });

  test('times out when EEC.AUTO_RD never sets', () => {
    const { platform } = setup();
    platform.setReg(R.EEC, 0);
    const error = initError(platform);
    expect(error.message).toMatch(/EEC\.AUTO_RD/);
    expect(error.message).toContain(FAKE_ADDRESS);
    // about 1 s of simulated time was spent waiting, not much more
    expect(platform.timeNs).toBeGreaterThan(1e9);
    expect(platform.timeNs).toBeLessThan(1.2e9);
  });

  test('times out when CTRL.RST never self-clears after the global reset', () => {
    const { platform } = setup();
    platform.resetSticks = true;
    expect(initError(platform).message).toMatch(/CTRL\.RST did not self-clear/);
  });

  test('refuses an absent EEPROM and an EEPROM error', () => {
    const absent = new FakePlatform();
    absent.setReg(R.EEC, R.EEC_AUTO_RD);
    expect(initError(absent).message).toMatch(/EEC\.EE_PRES/);
    const broken = new FakePlatform();
    broken.setReg(R.FWSM, 1 << 19);
    expect(initError(broken).message).toMatch(/FWSM\.EXT_ERR_IND/);
  });

  test('times out when RDRXCTL.DMAIDONE never sets', () => {
    const { platform } = setup();
    platform.setReg(R.RDRXCTL, 0);
    expect(initError(platform).message).toMatch(/RDRXCTL\.DMAIDONE/);
  });

  test('times out when a receive queue never disables', () => {
    const { platform } = setup();
    // RXDCTL(5).ENABLE comes back every time the "NIC" runs
    platform.onAdvance = () => platform.setReg(R.RXDCTL(5), R.RXDCTL_ENABLE);
    expect(initError(platform).message).toMatch(/RXDCTL\(5\)\.ENABLE did not clear/);
  });

  test('master disable timeout: flushes the data path when nothing is pending, refuses otherwise', () => {
    const stuck = new FakePlatform();
    stuck.setReg(R.STATUS, R.STATUS_PCIE_MASTER_ENABLE_STATUS);
    const writes: number[] = [];
    stuck.onAdvance = () => writes.push(stuck.reg(R.GCR_EXT));
    Device.init(new SimulatedEnvironment(stuck), FAKE_ADDRESS);
    expect(writes).toContain(R.GCR_EXT_BUFFERS_CLEAR_FUNC); // was set while sleeping 20 us
    expect(stuck.reg(R.GCR_EXT) & R.GCR_EXT_BUFFERS_CLEAR_FUNC).toBe(0);
    expect(stuck.reg(R.HLREG0) & R.HLREG0_LPBK).toBe(0);

    const pending = new FakePlatform();
    pending.setReg(R.STATUS, R.STATUS_PCIE_MASTER_ENABLE_STATUS);
    pending.config[pci.PCI_DEVICE_STATUS_DWORD / 4] = pci.PCI_DEVICE_STATUS_TRANSACTION_PENDING;
    expect(initError(pending).message).toMatch(/master disable timed out/);
  });

  test('queue setup checks alignment and enables queues in order', () => {
    const { platform, env } = setup();
    const device = Device.init(env, FAKE_ADDRESS);
    expect(() => device.setInput(0x1000_0040, 1024, 2048, 'legacy')).toThrow(/128-byte aligned/);
    expect(() => device.addOutput(0x1000_0000, 1024, 0x2000_0008)).toThrow(/16-byte aligned/);
    const out0 = device.addOutput(0x1000_0000, 1024, 0x2000_0000);
    const out1 = device.addOutput(0x1000_4000, 1024, null);
    expect(out0.queue).toBe(0);
    expect(out1.queue).toBe(1);
    expect(platform.reg(R.TDWBAL(0))).toBe(0x2000_0001);
    expect(platform.reg(R.TDWBAL(1))).toBe(0);
    expect(platform.reg(R.TDLEN(0))).toBe(1024 * 16);
    expect(platform.reg(R.DMATXCTL) & R.DMATXCTL_TE).not.toBe(0);
    const input = device.setInput(0x3000_0000, 1024, 2048, 'legacy');
    expect(input.tailOffset).toBe(R.RDT(0));
    expect(platform.reg(R.RDT(0))).toBe(1023);
    expect(platform.reg(R.RDBAL(0))).toBe(0x3000_0000);
    expect(platform.reg(R.SRRCTL(0)) & (R.SRRCTL_BSIZEPACKET | R.SRRCTL_DROP_EN)).toBe(2 | R.SRRCTL_DROP_EN);
    expect(platform.reg(R.RXCTRL) & R.RXCTRL_RXEN).not.toBe(0);
    expect(platform.reg(R.SECRXCTRL) & R.SECRXCTRL_RX_DIS).toBe(0);
    expect(platform.reg(R.DCA_RXCTRL(0)) & R.DCA_RXCTRL_UNKNOWN_BIT12).toBe(0);
    expect(() => device.setInput(0x3000_0000, 1024, 2048, 'legacy')).toThrow(/already in use/);
  });
});
