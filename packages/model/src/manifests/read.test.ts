import { describe, expect, it } from 'vitest';
import { readManifests } from './read.js';
import { thrown } from '../../test/support/thrown.js';

const read = (text: string, file = 'in.yaml') => readManifests([{ file, text }]);

const deployment = (replicas: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
          ports:
            - containerPort: 8080
`;

describe('readManifests: classification', () => {
  it('an empty input is an empty ClusterInput', () => {
    const input = readManifests([]);
    expect(input.pods).toEqual([]);
    expect(input.clusterConfig).toBeUndefined();
    expect(read('').services).toEqual([]);
    expect(read('---\n# only a comment\n---\n').ignored).toEqual([]);
  });

  it('sorts a multi-document stream by kind and records where each object starts', () => {
    const input = read(`apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
${deployment('3')}---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`);
    expect(input.namespaces.map((n) => n.metadata.name)).toEqual(['shop']);
    expect(input.deployments[0]!.spec.replicas).toBe(3);
    expect(input.services[0]!.spec.ports).toEqual([{ port: 80, targetPort: 8080 }]);
    expect(input.positions.get('Deployment/shop/web')).toEqual({ file: 'in.yaml', line: 5, column: 1 });
    expect(input.positions.get('Service/shop/web')).toEqual({ file: 'in.yaml', line: 24, column: 1 });
  });

  it('expands `kind: List` and `*List` dumps from kubectl get -o yaml', () => {
    const input = read(`apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: a, namespace: default}
    spec: {containers: [{name: c}]}
  - apiVersion: v1
    kind: PodList
    items:
      - {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {containers: [{name: c}]}}
`);
    expect(input.pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(['default/a', 'default/b']);
    expect(input.positions.get('Pod/default/b')).toMatchObject({ line: 11, column: 9 });
  });

  it('reads `kubectl get -o json` output (JSON is YAML) with positions', () => {
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 0 }] } }] }, null, 4);
    const e = thrown(() => read(json, 'dump.json'));
    expect(e.format()).toBe('dump.json:22:33: Service shop/web: Expected `spec.ports[0].port` to be an integer from 1 to 65535, got 0');
    expect(read(json.replace('"port": 0', '"port": 80'), 'dump.json').namespaces.map((n) => n.metadata.name)).toEqual(['shop']);
  });

  it('lists unknown kinds and unread apiVersions as ignored, with a reason', () => {
    const input = read(`apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: old}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
`);
    expect(input.ignored.map((i) => [i.kind, i.name, i.position?.line])).toEqual([
      ['ConfigMap', 'kube-system/coredns', 1],
      ['Deployment', 'default/old', 5],
      ['Endpoints', 'shop/web', 9],
    ]);
    expect(input.ignored[1]!.reason).toBe('Deployment is read at apiVersion apps/v1, not extensions/v1beta1');
    expect(input.ignored[2]!.reason).toMatch(/EndpointSlices/);
  });

  it('keeps observed state exactly: ClusterIP, NodePorts, absent EndpointSlice conditions stay absent', () => {
    const input = read(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.100.7.7
  clusterIPs: [10.100.7.7]
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 31080, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
  - addresses: [192.168.1.5]
  - addresses: [192.168.1.6]
    conditions: {ready: false, serving: true, terminating: true}
ports: [{name: "", port: 8080, protocol: TCP}]
`);
    expect(input.services[0]!.spec).toMatchObject({ clusterIP: '10.100.7.7', ports: [{ nodePort: 31080 }] });
    const slice = input.endpointSlices[0]!;
    expect(slice.endpoints[0]).toEqual({ addresses: ['192.168.1.5'] });
    expect(slice.endpoints[1]!.conditions).toEqual({ ready: false, serving: true, terminating: true });
  });

  it('reads the aws-node env, leaving out valueFrom entries; the DaemonSet stays a DaemonSet', () => {
    const input = read(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: aws-node}}
  template:
    metadata: {labels: {k8s-app: aws-node}}
    spec:
      hostNetwork: true
      containers:
        - name: aws-node
          env:
            - {name: WARM_ENI_TARGET, value: "1"}
            - {name: ENABLE_PREFIX_DELEGATION, value: "false"}
            - {name: MY_NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
            - {name: AWS_VPC_K8S_CNI_LOGLEVEL}
`);
    expect(input.awsNodeEnv).toEqual({ WARM_ENI_TARGET: '1', ENABLE_PREFIX_DELEGATION: 'false', AWS_VPC_K8S_CNI_LOGLEVEL: '' });
    expect(input.daemonSets.map((d) => d.metadata.name)).toEqual(['aws-node']);
  });

  it('reads KubeProxyConfiguration, also from the kube-proxy-config ConfigMap EKS ships', () => {
    const direct = read(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
ipvs: {scheduler: lc}
`);
    expect(direct.kubeProxyConfiguration).toMatchObject({ mode: 'ipvs', ipvs: { scheduler: 'lc' } });
    const fromConfigMap = read(`apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-proxy-config
  namespace: kube-system
data:
  config: |-
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
    mode: "iptables"
    iptables:
      masqueradeBit: 14
`);
    expect(fromConfigMap.kubeProxyConfiguration).toMatchObject({ mode: 'iptables', iptables: { masqueradeBit: 14 } });
    expect(fromConfigMap.ignored).toEqual([]);
    const bad = thrown(() => read(`apiVersion: v1
kind: ConfigMap
metadata: {name: kube-proxy-config, namespace: kube-system}
data:
  config: |
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
    mode: userspace
`));
    expect(bad.position).toEqual({ file: 'in.yaml', line: 8, column: 11 });
    expect(bad.message).toMatch(/Expected `mode` to be one of "", iptables, ipvs, nftables, got "userspace"/);
  });

  it('sets the namespace of namespaced objects to default when absent, as kubectl does', () => {
    const input = read(`apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c}]}
`);
    expect(input.pods[0]!.metadata.namespace).toBe('default');
  });
});

describe('readManifests: errors name file:line:column, the object and the field', () => {
  it('a negative replica count', () => {
    const e = thrown(() => read(deployment('-1'), 'shop.yaml'));
    expect(e.code).toBe('E_MANIFEST_SCHEMA');
    expect(e.format()).toBe('shop.yaml:7:13: Deployment shop/web: Expected `spec.replicas` to be an integer ≥ 0, got -1');
  });

  it('YAML syntax errors', () => {
    const e = thrown(() => read('apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a\n'));
    expect(e.code).toBe('E_YAML_SYNTAX');
    expect(e.position?.file).toBe('in.yaml');
    expect(e.position?.line).toBeGreaterThanOrEqual(4);
    const dup = thrown(() => read('apiVersion: v1\nkind: Pod\nkind: Service\n'));
    expect(dup.code).toBe('E_YAML_SYNTAX');
    expect(dup.position?.line).toBe(3);
  });

  it('ports out of range, unknown protocols, bad IPs, unquoted label numbers', () => {
    const svc = (ports: string, extra = '') => `apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec:
  ports: ${ports}
${extra}`;
    expect(thrown(() => read(svc('[{port: 70000}]'))).message).toBe('Expected `spec.ports[0].port` to be an integer from 1 to 65535, got 70000');
    expect(thrown(() => read(svc('[{port: 80, protocol: ICMP}]'))).message).toBe('Expected `spec.ports[0].protocol` to be one of TCP, UDP, SCTP, got "ICMP"');
    expect(thrown(() => read(svc('[{port: 80}]', '  clusterIP: 10.0.0.300\n'))).message).toMatch(/`spec.clusterIP` to be an IP address/);
    expect(thrown(() => read(svc('[{port: 80}, {port: 81}]'))).message).toMatch(/must name each port/);
    // A Service port name may be longer than a container port name (a DNS label, not an IANA service name).
    expect(read(svc('[{name: http-metrics-exporter, port: 80}]')).services).toHaveLength(1);
    expect(thrown(() => read(svc('[{port: 80, targetPort: http-metrics-exporter}]'))).message).toMatch(/`spec.ports\[0\].targetPort` to be a port name \(at most 15/);
    expect(thrown(() => read(svc('[{port: 80, nodePort: 30080}]'))).message).toMatch(/ClusterIP Service cannot have a `nodePort`/);
    const label = thrown(() => read('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n    version: 1.0\n'));
    expect(label.format()).toBe('in.yaml:6:14: Namespace x: Expected `metadata.labels.version` to be a string, got 1\n  hint: quote it: "1"');
  });

  it('a document whose aliases expand exponentially (billion laughs)', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) levels.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(10).fill(`*${'abcdefghij'[i - 1]}`).join(', ')}]`);
    const e = thrown(() => read(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n${levels.map((l) => `  ${l}`).join('\n')}\n`));
    expect(e.code).toBe('E_YAML_SYNTAX');
    expect(e.position).toEqual({ file: 'in.yaml', line: 1, column: 1 });
  });

  it('a selector that does not select the template', () => {
    const e = thrown(() => read(deployment('1').replace('labels: {app: web}', 'labels: {app: api}')));
    expect(e.message).toBe('`selector` does not match template `labels`');
    expect(e.position?.line).toBe(12);
  });

  it('a missing required field points at its parent', () => {
    const e = thrown(() => read('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n'));
    expect(e.format()).toMatch(/^in\.yaml:5:3: Pod default\/p: Expected `spec.containers` to list at least one container/);
  });

  it('ClusterConfig errors from the EKS defaults keep their position', () => {
    const e = thrown(() => read(`apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: {name: shop, region: eu-west-1}
availabilityZones: [eu-west-1a, us-east-1b]
`));
    expect(e.code).toBe('E_EKS_ZONE');
    expect(e.object).toBe('ClusterConfig shop');
    expect(e.position).toEqual({ file: 'in.yaml', line: 4, column: 33 });
  });

  it('an object given twice, in two files', () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c}]}\n';
    const e = thrown(() => readManifests([{ file: 'one.yaml', text: pod }, { file: 'two.yaml', text: `---\n${pod}` }]));
    expect(e.code).toBe('E_MANIFEST_DUPLICATE');
    expect(e.format()).toMatch(/^two\.yaml:2:1: Pod a\/p: Pod a\/p is given twice \(first at one\.yaml:1:1\)/);
  });

  it('a document that is not an object, and one without kind', () => {
    expect(thrown(() => read('- a\n- b\n')).message).toMatch(/Expected a Kubernetes object .* got a list/);
    expect(thrown(() => read('apiVersion: v1\nmetadata: {name: x}\n')).message).toMatch(/Expected `kind`/);
  });
});

describe('readManifests: checks per kind', () => {
  const cases: [string, string, string][] = [
    [
      'a Node address that is not an IP',
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus:\n  addresses: [{type: InternalIP, address: node-1}]\n',
      'in.yaml:5:43: Node n1: Expected `status.addresses[0].address` to be an IP address, got "node-1"',
    ],
    [
      'a Node pod capacity that is not a whole number',
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus:\n  capacity: {pods: 29.5}\n',
      'in.yaml:5:20: Node n1: Expected `status.capacity.pods` to be a whole number of pods, got 29.5',
    ],
    [
      'an IPv6 address in an IPv4 EndpointSlice',
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, namespace: a}\naddressType: IPv4\nendpoints: [{addresses: ["fd00::1"]}]\n',
      'in.yaml:5:26: EndpointSlice a/s: Expected an IPv4 address in an IPv4 EndpointSlice, got fd00::1',
    ],
    [
      'an EndpointSlice condition that is not a boolean',
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, namespace: a}\naddressType: IPv4\nendpoints:\n  - addresses: [10.0.0.1]\n    conditions: {ready: "yes"}\n',
      'in.yaml:7:25: EndpointSlice a/s: Expected `endpoints[0].conditions.ready` to be true or false, got "yes"',
    ],
    [
      'a kube-proxy masquerade bit out of range',
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\niptables: {masqueradeBit: 32}\n',
      'in.yaml:3:27: KubeProxyConfiguration: Expected `iptables.masqueradeBit` to be an integer from 0 to 31, got 32',
    ],
    [
      'a kube-proxy duration that Go would not parse',
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nconntrack: {tcpEstablishedTimeout: 1 day}\n',
      'in.yaml:3:36: KubeProxyConfiguration: Expected `conntrack.tcpEstablishedTimeout` to be a duration such as 30s or 1h0m0s, got "1 day"',
    ],
    [
      'an ENIConfig without a subnet',
      'apiVersion: crd.k8s.amazonaws.com/v1alpha1\nkind: ENIConfig\nmetadata: {name: us-west-2a}\nspec: {securityGroups: [sg-1]}\n',
      'in.yaml:4:7: ENIConfig us-west-2a: Expected `spec.subnet` (the subnet id pods on matching nodes take IPs from), and it is missing',
    ],
    [
      'a node group with desiredCapacity above maxSize',
      'apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c}\nnodeGroups:\n  - {name: ng, desiredCapacity: 5, maxSize: 3}\n',
      'in.yaml:5:33: ClusterConfig c: Expected `desiredCapacity` (5) to be within `minSize`..`maxSize`',
    ],
    [
      'an ExternalName Service without externalName',
      'apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: a}\nspec: {type: ExternalName}\n',
      'in.yaml:4:7: Service a/db: Expected `spec.externalName` (the DNS name an ExternalName Service points at), and it is missing',
    ],
    [
      'a headless NodePort Service',
      'apiVersion: v1\nkind: Service\nmetadata: {name: w, namespace: a}\nspec: {type: NodePort, clusterIP: None, ports: [{port: 80}]}\n',
      'in.yaml:4:35: Service a/w: A NodePort Service cannot be headless (`clusterIP: None`)',
    ],
    [
      'externalTrafficPolicy on a ClusterIP Service',
      'apiVersion: v1\nkind: Service\nmetadata: {name: w, namespace: a}\nspec: {externalTrafficPolicy: Local, ports: [{port: 80}]}\n',
      'in.yaml:4:31: Service a/w: `externalTrafficPolicy` may only be set for externally-accessible Services, not a ClusterIP Service',
    ],
    [
      'two containers with one name',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c}, {name: c}]}\n',
      'in.yaml:4:39: Pod a/p: Container name "c" is used twice in one pod',
    ],
    [
      'a DaemonSet with replicas',
      'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d, namespace: a}\nspec:\n  replicas: 2\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c}]}}\n',
      'in.yaml:5:13: DaemonSet a/d: A DaemonSet has no `replicas`: it runs one pod on every node its template fits',
    ],
    [
      'an upper-case object name',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: Web, namespace: a}\nspec: {containers: [{name: c}]}\n',
      'in.yaml:3:18: Pod a/Web: Expected `metadata.name` to be a DNS subdomain (lowercase letters, digits, "-" and "."), got "Web"',
    ],
    [
      'an env value that is a number',
      'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: aws-node, namespace: kube-system}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: aws-node, env: [{name: WARM_IP_TARGET, value: 5}]}]}\n',
      'in.yaml:8:78: DaemonSet kube-system/aws-node: Expected `spec.template.spec.containers[0].env[0].value` to be a string, got 5\n  hint: quote it: "5"',
    ],
  ];
  it.each(cases)('%s', (_, text, expected) => {
    expect(thrown(() => read(text)).format()).toBe(expected);
  });
});
