/**
 * Synthetic orders, pharmacy and money for a demo or seeded organization: a medication catalog, lab
 * tests, two stock locations with a consistent ledger, insurers and coverages, prescriptions (one
 * written over an allergy, with its override), prior authorizations in every state, lab orders with
 * results (some abnormal, exactly one critical awaiting review), and invoices in every state with
 * payments and a credit note. Written in the caller's transaction, in bulk.
 */
import { randomUUID } from 'node:crypto';
import type { Faker } from '@faker-js/faker';
import { Decimal } from 'decimal.js';
import type { Executor } from '../platform/db/database.js';
import { invoiceLines, invoices, payments } from '../modules/billing/billing.schema.js';
import { coverages, insurers, priorAuthorizations } from '../modules/insurance/insurance.schema.js';
import { labOrderEvents, labOrders, labTests } from '../modules/labs/labs.schema.js';
import { medications } from '../modules/medications/medications.schema.js';
import type { Allergy } from '../modules/patients/patients.schema.js';
import { organizationCounters } from '../platform/db/counters.schema.js';
import { pharmacyLocations, stockLevels, stockMovements } from '../modules/pharmacy/pharmacy.schema.js';
import { prescriptions } from '../modules/prescriptions/prescriptions.schema.js';
import type { Role } from '../platform/permissions.js';

export interface OrdersSeed {
  organizationId: string;
  hospitalId: string;
  staff: Record<Role, string>;
  /** Patients to give orders to (a sample: orders are not made for every patient of a large seed). */
  patients: { id: string; allergies: Allergy[] }[];
  /** Signed encounters of those patients. */
  encounters: { id: string; patientId: string; at: Date }[];
  faker: Faker;
  now: Date;
}

export interface OrdersSummary {
  medications: number;
  labTests: number;
  prescriptions: number;
  labOrders: number;
  invoices: number;
  coverages: number;
}

const MEDICATIONS = [
  {
    name: 'Amoxicillin',
    form: 'capsule',
    strength: '500 mg',
    code: 'MED-AMOX-500',
    ingredients: ['amoxicillin', 'penicillin'],
  },
  {
    name: 'Paracetamol',
    form: 'tablet',
    strength: '500 mg',
    code: 'MED-PARA-500',
    ingredients: ['paracetamol', 'acetaminophen'],
  },
  { name: 'Ibuprofen', form: 'tablet', strength: '400 mg', code: 'MED-IBU-400', ingredients: ['ibuprofen'] },
  { name: 'Metformin', form: 'tablet', strength: '500 mg', code: 'MED-METF-500', ingredients: ['metformin'] },
  { name: 'Lisinopril', form: 'tablet', strength: '10 mg', code: 'MED-LISI-10', ingredients: ['lisinopril'] },
  { name: 'Atorvastatin', form: 'tablet', strength: '20 mg', code: 'MED-ATOR-20', ingredients: ['atorvastatin'] },
  { name: 'Salbutamol', form: 'inhaler', strength: '100 mcg/dose', code: 'MED-SALB-100', ingredients: ['salbutamol'] },
  { name: 'Omeprazole', form: 'capsule', strength: '20 mg', code: 'MED-OMEP-20', ingredients: ['omeprazole'] },
  { name: 'Ceftriaxone', form: 'injection', strength: '1 g', code: 'MED-CEFT-1G', ingredients: ['ceftriaxone'] },
  { name: 'Heparin', form: 'injection', strength: '5000 IU/mL', code: 'MED-HEP-5000', ingredients: ['heparin'] },
  {
    name: 'Insulin glargine',
    form: 'injection',
    strength: '100 U/mL',
    code: 'MED-INSG-100',
    ingredients: ['insulin glargine'],
    requiresPriorAuth: true,
  },
  {
    name: 'Adalimumab',
    form: 'injection',
    strength: '40 mg',
    code: 'MED-ADAL-40',
    ingredients: ['adalimumab'],
    requiresPriorAuth: true,
  },
];

const LAB_TESTS = [
  {
    code: 'K',
    name: 'Potassium',
    unit: 'mmol/L',
    referenceLow: '3.5',
    referenceHigh: '5.0',
    criticalLow: '2.5',
    criticalHigh: '6.5',
  },
  {
    code: 'NA',
    name: 'Sodium',
    unit: 'mmol/L',
    referenceLow: '135',
    referenceHigh: '145',
    criticalLow: '120',
    criticalHigh: '160',
  },
  {
    code: 'GLU',
    name: 'Glucose, fasting',
    unit: 'mg/dL',
    referenceLow: '70',
    referenceHigh: '99',
    criticalLow: '40',
    criticalHigh: '500',
  },
  {
    code: 'HGB',
    name: 'Haemoglobin',
    unit: 'g/dL',
    referenceLow: '12.0',
    referenceHigh: '17.5',
    criticalLow: '7.0',
    criticalHigh: '20.0',
  },
  {
    code: 'WBC',
    name: 'White blood cells',
    unit: '10^9/L',
    referenceLow: '4.0',
    referenceHigh: '11.0',
    criticalLow: '1.0',
    criticalHigh: '30.0',
  },
  {
    code: 'CREA',
    name: 'Creatinine',
    unit: 'mg/dL',
    referenceLow: '0.6',
    referenceHigh: '1.3',
    criticalLow: null,
    criticalHigh: null,
  },
  {
    code: 'TSH',
    name: 'Thyroid-stimulating hormone',
    unit: 'mIU/L',
    referenceLow: '0.4',
    referenceHigh: '4.0',
    criticalLow: null,
    criticalHigh: null,
  },
  {
    code: 'TROP',
    name: 'Troponin I',
    unit: 'ng/mL',
    referenceLow: null,
    referenceHigh: '0.04',
    criticalLow: null,
    criticalHigh: '0.5',
  },
];

const INSURERS = [
  { name: 'Aurora Health Insurance (synthetic)', payerId: 'AUR01' },
  { name: 'Northwind Mutual (synthetic)', payerId: 'NWM02' },
  { name: 'Blue Harbor Care (synthetic)', payerId: 'BHC03' },
  { name: 'Civic Public Plan (synthetic)', payerId: 'CPP04' },
];

const SERVICES = [
  { serviceCode: 'CONS-01', description: 'Consultation', unitPrice: '150.00', taxRate: '0' },
  { serviceCode: 'LAB-01', description: 'Laboratory panel', unitPrice: '33.33', taxRate: '7.25' },
  { serviceCode: 'SUP-01', description: 'Dressing supplies', unitPrice: '4.99', taxRate: '7.25' },
  { serviceCode: 'IMG-01', description: 'X-ray, one view', unitPrice: '89.90', taxRate: '0' },
];

const DAY_MS = 24 * 3600_000;

/** The flag of a result against a test's ranges (critical bounds inclusive; reference bounds normal). */
function flagOf(value: Decimal, test: (typeof LAB_TESTS)[number]): string {
  if (test.criticalLow !== null && value.lte(test.criticalLow)) return 'critical-low';
  if (test.criticalHigh !== null && value.gte(test.criticalHigh)) return 'critical-high';
  if (test.referenceLow !== null && value.lt(test.referenceLow)) return 'low';
  if (test.referenceHigh !== null && value.gt(test.referenceHigh)) return 'high';
  return 'normal';
}

/** A line's amounts: rounded to the cent once per line, half up (the billing module's rule). */
function lineAmounts(quantity: string, unitPrice: string, taxRate: string) {
  const subtotal = new Decimal(quantity).times(unitPrice).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
  const tax = subtotal.times(taxRate).dividedBy(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
  return { subtotal, tax, total: subtotal.plus(tax) };
}

function conflicts(allergies: Allergy[], medication: (typeof MEDICATIONS)[number]): boolean {
  const names = [medication.name.toLowerCase(), ...medication.ingredients];
  return allergies.some((allergy) => names.some((name) => name.includes(allergy.substance.toLowerCase())));
}

export async function seedOrdersData(tx: Executor, seed: OrdersSeed): Promise<OrdersSummary> {
  const { organizationId: org, staff, faker: f, now } = seed;
  const medRows = MEDICATIONS.map((m) => ({ id: randomUUID(), organizationId: org, requiresPriorAuth: false, ...m }));
  await tx.insert(medications).values(medRows);
  const testRows = LAB_TESTS.map((t) => ({ id: randomUUID(), organizationId: org, ...t }));
  await tx.insert(labTests).values(testRows);

  // Stock: everything received at the main pharmacy, some moved to the ward's cabinet; a few items low.
  const [main, cabinet] = [
    { id: randomUUID(), organizationId: org, hospitalId: seed.hospitalId, name: 'Main pharmacy' },
    { id: randomUUID(), organizationId: org, hospitalId: seed.hospitalId, name: 'Ward 4B cabinet' },
  ] as const;
  await tx.insert(pharmacyLocations).values([main, cabinet]);
  const onHand = new Map<string, number>();
  const movements: (typeof stockMovements.$inferInsert)[] = [];
  const move = (row: Omit<typeof stockMovements.$inferInsert, 'organizationId' | 'balanceAfter'>, at: Date) => {
    const key = `${row.locationId}/${row.medicationId}`;
    const balanceAfter = (onHand.get(key) ?? 0) + row.quantity;
    if (balanceAfter < 0) throw new Error('the synthetic ledger went negative');
    onHand.set(key, balanceAfter);
    movements.push({ ...row, organizationId: org, balanceAfter, createdAt: at });
  };
  const received = new Date(now.getTime() - 60 * DAY_MS);
  medRows.forEach((med, i) => {
    move(
      {
        locationId: main.id,
        medicationId: med.id,
        type: 'receive',
        quantity: i % 5 === 4 ? 8 : f.number.int({ min: 200, max: 600 }),
        lot: `LOT-${f.string.alphanumeric({ length: 6, casing: 'upper' })}`,
        expiresOn: new Date(now.getTime() + f.number.int({ min: 120, max: 720 }) * DAY_MS).toISOString().slice(0, 10),
        performedBy: staff.manager,
      },
      received,
    );
    if (i < 4) {
      const transferId = randomUUID();
      const quantity = 20;
      const at = new Date(received.getTime() + DAY_MS);
      move(
        {
          locationId: main.id,
          medicationId: med.id,
          type: 'transfer',
          quantity: -quantity,
          transferId,
          performedBy: staff.nurse,
        },
        at,
      );
      move(
        {
          locationId: cabinet.id,
          medicationId: med.id,
          type: 'transfer',
          quantity,
          transferId,
          performedBy: staff.nurse,
        },
        at,
      );
    }
  });
  move(
    {
      locationId: main.id,
      medicationId: medRows[1]!.id,
      type: 'adjust',
      quantity: -3,
      reason: 'Damaged packaging',
      performedBy: staff.manager,
    },
    new Date(received.getTime() + 2 * DAY_MS),
  );

  // Insurers and coverages: most patients are covered, some by two insurers.
  const insurerRows = INSURERS.map((insurer) => ({ id: randomUUID(), organizationId: org, ...insurer }));
  await tx.insert(insurers).values(insurerRows);
  const coverageRows: (typeof coverages.$inferInsert)[] = [];
  const coverageOf = new Map<string, string>();
  for (const patient of seed.patients) {
    if (f.number.int({ min: 1, max: 10 }) > 7) continue;
    const id = randomUUID();
    coverageOf.set(patient.id, id);
    const validFrom = new Date(now.getTime() - f.number.int({ min: 30, max: 900 }) * DAY_MS).toISOString().slice(0, 10);
    coverageRows.push({
      id,
      organizationId: org,
      patientId: patient.id,
      insurerId: f.helpers.arrayElement(insurerRows).id,
      memberId: `M${f.string.numeric(9)}`,
      plan: f.helpers.arrayElement(['Standard', 'Plus', 'Premium']),
      priority: 'primary',
      validFrom,
    });
    if (f.number.int({ min: 1, max: 10 }) === 1) {
      coverageRows.push({
        organizationId: org,
        patientId: patient.id,
        insurerId: insurerRows[3]!.id,
        memberId: `S${f.string.numeric(9)}`,
        priority: 'secondary',
        validFrom,
      });
    }
  }
  if (coverageRows.length > 0) await tx.insert(coverages).values(coverageRows);

  const allergiesOf = new Map(seed.patients.map((p) => [p.id, p.allergies]));
  const prescriptionRows: (typeof prescriptions.$inferInsert)[] = [];
  const authRows: (typeof priorAuthorizations.$inferInsert)[] = [];
  const orderRows: (typeof labOrders.$inferInsert)[] = [];
  const eventRows: (typeof labOrderEvents.$inferInsert)[] = [];
  const invoiceRows: (typeof invoices.$inferInsert)[] = [];
  const lineRows: (typeof invoiceLines.$inferInsert)[] = [];
  const paymentRows: (typeof payments.$inferInsert)[] = [];
  let overridden = false;
  let critical = false;
  let invoiceNumber = 0;
  const authStates = ['draft', 'submitted', 'approved', 'denied'];

  seed.encounters.forEach((encounter, e) => {
    const allergies = allergiesOf.get(encounter.patientId) ?? [];
    const at = encounter.at;

    // A prescription for two encounters in five; the first patient with an allergy gets the override example.
    if (e % 5 < 2 || (!overridden && allergies.length > 0)) {
      let med = f.helpers.arrayElement(medRows);
      let overrideReason: string | null = null;
      let overriddenAllergies: { substance: string; severity?: string }[] | null = null;
      if (!overridden && allergies.length > 0) {
        const match = medRows.find((m) => conflicts(allergies, m));
        if (match) {
          med = match;
          overridden = true;
          overrideReason = 'Tolerated a full course last year under observation; benefits outweigh the risk';
          overriddenAllergies = allergies.map(({ substance, severity }) => ({
            substance,
            ...(severity ? { severity } : {}),
          }));
        }
      }
      while (!overrideReason && conflicts(allergies, med)) med = f.helpers.arrayElement(medRows);
      const status = overrideReason ? 'active' : e % 10 === 1 ? 'cancelled' : e % 10 === 0 ? 'completed' : 'active';
      const quantity = f.helpers.arrayElement([10, 14, 20, 28, 30]);
      // A completed prescription was dispensed from the main pharmacy, when it had enough.
      const dispensed = status === 'completed' && (onHand.get(`${main.id}/${med.id}`) ?? 0) >= quantity;
      const id = randomUUID();
      prescriptionRows.push({
        id,
        organizationId: org,
        patientId: encounter.patientId,
        encounterId: encounter.id,
        medicationId: med.id,
        prescriberId: staff.doctor,
        dose: f.helpers.arrayElement(['1 tablet', '2 tablets', '10 units', '1 puff']),
        route: med.form === 'injection' ? 'subcutaneous' : med.form === 'inhaler' ? 'inhalation' : 'oral',
        frequency: f.helpers.arrayElement(['once daily', 'twice daily', 'every 8 hours', 'as needed']),
        durationDays: f.helpers.arrayElement([5, 7, 10, 14, 30]),
        quantity,
        refills: f.number.int({ min: 0, max: 2 }),
        status,
        dispensedQuantity: dispensed ? quantity : 0,
        requiresPriorAuth: med.requiresPriorAuth,
        overrideReason,
        overriddenAllergies,
        completedAt: status === 'completed' ? new Date(at.getTime() + DAY_MS) : null,
        cancelledAt: status === 'cancelled' ? new Date(at.getTime() + 3600_000) : null,
        cancelledBy: status === 'cancelled' ? staff.doctor : null,
        cancelReason: status === 'cancelled' ? 'Switched to another medication' : null,
        createdAt: at,
      });
      if (dispensed) {
        move(
          {
            locationId: main.id,
            medicationId: med.id,
            type: 'dispense',
            quantity: -quantity,
            prescriptionId: id,
            patientId: encounter.patientId,
            performedBy: staff.nurse,
          },
          new Date(at.getTime() + DAY_MS),
        );
      }
      if (med.requiresPriorAuth) {
        const state = authStates[authRows.length % authStates.length]!;
        const decided = state === 'approved' || state === 'denied';
        authRows.push({
          organizationId: org,
          prescriptionId: id,
          patientId: encounter.patientId,
          coverageId: coverageOf.get(encounter.patientId) ?? null,
          status: state,
          justification: 'Long-term treatment of a chronic condition',
          submittedAt: state === 'draft' ? null : new Date(at.getTime() + 3600_000),
          submittedBy: state === 'draft' ? null : staff.operator,
          decidedAt: decided ? new Date(at.getTime() + 2 * DAY_MS) : null,
          decidedBy: decided ? staff.operator : null,
          decisionNotes:
            state === 'denied' ? 'Step therapy required first' : state === 'approved' ? 'Approved for 12 months' : null,
          authorizationNumber: state === 'approved' ? `PA-${f.string.numeric(8)}` : null,
          createdBy: staff.doctor,
          createdAt: at,
        });
      }
    }

    // Lab orders for every other encounter: mostly reviewed, some still open, a few abnormal.
    if (e % 2 === 0) {
      const test = testRows[(e / 2) % testRows.length]!;
      const id = randomUUID();
      const recent = e < 40;
      const status = recent ? (['ordered', 'collected', 'in-progress', 'resulted'] as const)[(e / 2) % 4]! : 'reviewed';
      const resulted = status === 'resulted' || status === 'reviewed';
      let value: Decimal | null = null;
      if (resulted) {
        const high = new Decimal(test.referenceHigh ?? '1');
        const low = new Decimal(test.referenceLow ?? '0');
        // A fifth are abnormal, never critical: above the range, a quarter of the way to the critical bound.
        const abnormal = test.criticalHigh
          ? high.plus(new Decimal(test.criticalHigh).minus(high).dividedBy(4))
          : high.times('1.15');
        value = f.number.int({ min: 1, max: 5 }) === 1 ? abnormal : low.plus(high.minus(low).times('0.5'));
        if (!critical && status === 'resulted' && test.criticalHigh !== null) {
          value = new Decimal(test.criticalHigh).plus('0.1');
          critical = true;
        }
        value = value.toDecimalPlaces(2);
      }
      const flag = value ? flagOf(value, test) : null;
      orderRows.push({
        id,
        organizationId: org,
        patientId: encounter.patientId,
        encounterId: encounter.id,
        testId: test.id,
        orderedBy: staff.doctor,
        status,
        collectedAt: status === 'ordered' ? null : new Date(at.getTime() + 600_000),
        collectedBy: status === 'ordered' ? null : staff.nurse,
        startedAt: status === 'ordered' || status === 'collected' ? null : new Date(at.getTime() + 1_200_000),
        resultValue: value?.toString() ?? null,
        resultUnit: resulted ? test.unit : null,
        resultFlag: flag,
        resultRanges: resulted
          ? {
              referenceLow: test.referenceLow,
              referenceHigh: test.referenceHigh,
              criticalLow: test.criticalLow,
              criticalHigh: test.criticalHigh,
            }
          : null,
        resultedAt: resulted ? new Date(at.getTime() + 3600_000) : null,
        resultedBy: resulted ? staff.nurse : null,
        reviewedAt: status === 'reviewed' ? new Date(at.getTime() + 2 * 3600_000) : null,
        reviewedBy: status === 'reviewed' ? staff.doctor : null,
        createdAt: at,
      });
      // The order's timeline, step by step, as the service writes it.
      const step = (
        type: string,
        actorId: string | null,
        offsetMs: number,
        detail: Record<string, unknown> | null = null,
      ) =>
        eventRows.push({
          organizationId: org,
          orderId: id,
          type,
          actorId,
          detail,
          createdAt: new Date(at.getTime() + offsetMs),
        });
      step('ordered', staff.doctor, 0);
      if (status !== 'ordered') step('collected', staff.nurse, 600_000);
      if (status !== 'ordered' && status !== 'collected') step('started', staff.nurse, 1_200_000);
      if (resulted) step('resulted', staff.nurse, 3600_000, { flag });
      if (flag?.startsWith('critical'))
        step('escalation-requested', null, 3600_000, { flag, topic: 'lab.result.critical' });
      if (status === 'reviewed') step('reviewed', staff.doctor, 2 * 3600_000);
    }

    // An invoice for every other encounter, in every state: drafts, issued at several ages, paid, void.
    if (e % 2 === 1) {
      const n = (e - 1) / 2;
      const kind = (['issued', 'paid', 'issued', 'draft', 'partially-paid', 'void'] as const)[n % 6]!;
      // Issued invoices of several ages, so that the receivables fill every bucket; the older ones bill
      // the patient rather than this (recent) encounter.
      const ageDays = kind === 'issued' || kind === 'partially-paid' ? [0, 45, 75, 105, 150][n % 5]! : 0;
      const lines = [SERVICES[0]!, ...(e % 3 === 0 ? [SERVICES[1]!, SERVICES[2]!] : [SERVICES[3]!])].map(
        (service, position) => {
          const quantity = service.serviceCode === 'LAB-01' ? '3' : '1';
          return { ...service, position, quantity, ...lineAmounts(quantity, service.unitPrice, service.taxRate) };
        },
      );
      const subtotal = lines.reduce((sum, l) => sum.plus(l.subtotal), new Decimal(0));
      const tax = lines.reduce((sum, l) => sum.plus(l.tax), new Decimal(0));
      const total = subtotal.plus(tax);
      const issued = kind !== 'draft';
      const paid =
        kind === 'paid' ? total : kind === 'partially-paid' ? total.dividedBy(2).toDecimalPlaces(2) : new Decimal(0);
      const id = randomUUID();
      const issuedAt = ageDays > 0 ? new Date(now.getTime() - ageDays * DAY_MS) : new Date(at.getTime() + 3600_000);
      const paidOn = new Date(Math.min(issuedAt.getTime() + 10 * DAY_MS, now.getTime()));
      invoiceRows.push({
        id,
        organizationId: org,
        patientId: encounter.patientId,
        encounterId: ageDays > 0 ? null : encounter.id,
        number: issued ? `INV-${String(++invoiceNumber).padStart(6, '0')}` : null,
        status: kind === 'partially-paid' ? 'issued' : kind,
        subtotal: subtotal.toFixed(2),
        tax: tax.toFixed(2),
        total: total.toFixed(2),
        amountPaid: paid.toFixed(2),
        issuedAt: issued ? issuedAt : null,
        dueAt: issued ? new Date(issuedAt.getTime() + 30 * DAY_MS) : null,
        paidAt: kind === 'paid' ? paidOn : null,
        voidedAt: kind === 'void' ? new Date(issuedAt.getTime() + DAY_MS) : null,
        voidReason: kind === 'void' ? 'Billed to the wrong patient account' : null,
        createdBy: staff.operator,
        createdAt: ageDays > 0 ? issuedAt : at,
      });
      for (const line of lines) {
        lineRows.push({
          organizationId: org,
          invoiceId: id,
          position: line.position,
          serviceCode: line.serviceCode,
          description: line.description,
          quantity: line.quantity,
          unitPrice: line.unitPrice,
          taxRate: line.taxRate,
          subtotal: line.subtotal.toFixed(2),
          tax: line.tax.toFixed(2),
          total: line.total.toFixed(2),
          createdAt: at,
        });
      }
      if (paid.gt(0)) {
        paymentRows.push({
          organizationId: org,
          invoiceId: id,
          patientId: encounter.patientId,
          kind: 'payment',
          amount: paid.toFixed(2),
          method: f.helpers.arrayElement(['card', 'cash', 'bank-transfer', 'insurer']),
          recordedBy: staff.operator,
          createdAt: paidOn,
        });
      }
    }
  });

  // One credit note: the first issued, unpaid invoice is corrected by its consultation line.
  const corrected = invoiceRows.find((i) => i.status === 'issued' && i.amountPaid === '0.00');
  if (corrected) {
    const id = randomUUID();
    const amount = '150.00';
    corrected.amountCredited = amount;
    invoiceRows.push({
      id,
      organizationId: org,
      patientId: corrected.patientId,
      encounterId: corrected.encounterId,
      kind: 'credit-note',
      creditedInvoiceId: corrected.id!,
      creditReason: 'Consultation billed twice',
      number: `INV-${String(++invoiceNumber).padStart(6, '0')}`,
      status: 'issued',
      subtotal: amount,
      tax: '0.00',
      total: amount,
      issuedAt: now,
      createdBy: staff.operator,
      createdAt: now,
    });
    lineRows.push({
      organizationId: org,
      invoiceId: id,
      position: 0,
      serviceCode: 'CONS-01',
      description: 'Consultation billed twice',
      quantity: '1',
      unitPrice: amount,
      taxRate: '0',
      subtotal: amount,
      tax: '0.00',
      total: amount,
      createdAt: now,
    });
  }

  const chunks = async <T>(rows: T[], insert: (chunk: T[]) => Promise<unknown>) => {
    for (let i = 0; i < rows.length; i += 500) await insert(rows.slice(i, i + 500));
  };
  await chunks(prescriptionRows, (c) => tx.insert(prescriptions).values(c));
  await chunks(authRows, (c) => tx.insert(priorAuthorizations).values(c));
  await chunks(movements, (c) => tx.insert(stockMovements).values(c));
  await tx.insert(stockLevels).values(
    [...onHand].map(([key, quantity], i) => {
      const [locationId, medicationId] = key.split('/') as [string, string];
      // Thresholds: 50 at the main pharmacy, 10 in the cabinet; the small deliveries end up below them.
      return {
        organizationId: org,
        locationId,
        medicationId,
        onHand: quantity,
        lowStockThreshold: locationId === main.id ? 50 : 10 + (i % 2) * 15,
      };
    }),
  );
  await chunks(orderRows, (c) => tx.insert(labOrders).values(c));
  await chunks(eventRows, (c) => tx.insert(labOrderEvents).values(c));
  await chunks(invoiceRows, (c) => tx.insert(invoices).values(c));
  await chunks(lineRows, (c) => tx.insert(invoiceLines).values(c));
  await chunks(paymentRows, (c) => tx.insert(payments).values(c));
  if (invoiceNumber > 0)
    await tx.insert(organizationCounters).values({ organizationId: org, name: 'invoice', value: invoiceNumber });
  return {
    medications: medRows.length,
    labTests: testRows.length,
    prescriptions: prescriptionRows.length,
    labOrders: orderRows.length,
    invoices: invoiceRows.length,
    coverages: coverageRows.length,
  };
}
