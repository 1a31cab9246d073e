/**
 * Builds the three.js objects of one env from its SceneDescription, once per task:
 * a group per body (the frames move these), the terrain when the env has a
 * heightfield (a plane ground is drawn once for all envs by world.ts), goal markers,
 * arrows for velocity and direction tasks, and a floating label for the stage and return.
 */
import {
  ArrowHelper,
  Box3,
  BoxGeometry,
  BufferAttribute,
  CanvasTexture,
  CapsuleGeometry,
  Color,
  CylinderGeometry,
  Group,
  Mesh,
  MeshBasicMaterial,
  MeshStandardMaterial,
  PlaneGeometry,
  RingGeometry,
  SphereGeometry,
  Sprite,
  SpriteMaterial,
  SRGBColorSpace,
  Vector3,
} from 'three';
import type { BufferGeometry, Material, Object3D } from 'three';
import type { HeightfieldDescription, MarkerDescription, SceneDescription, ShapeDescription } from '../../src/core/scene.js';

export interface EnvView {
  /** Placed by the layout (its position is the lane offset). */
  readonly root: Group;
  /** One group per body, in frame order. */
  readonly bodies: readonly Object3D[];
  /** Lowest ground height, for the shared floor. */
  readonly groundHeight: number;
  /** Half the lane width this env needs along z. */
  readonly halfWidth: number;
  /** Moves the task arrows and the label with the robot; sets the label text when it changed. */
  update(label: string): void;
  /** Grows `box` by the bodies as they stand now and, at their feet, the lane label's footprint (world coordinates): what the camera frames. */
  expandBox(box: Box3): void;
  dispose(): void;
}

const _root = new Vector3();
const _robot = new Box3();
const _label = new Box3();

export function buildEnvView(desc: SceneDescription): EnvView {
  const root = new Group();
  root.name = `env:${desc.family}`;
  const disposables: Array<BufferGeometry | Material | CanvasTexture> = [];
  const track = <T extends BufferGeometry | Material | CanvasTexture>(x: T): T => (disposables.push(x), x);

  const bodies = desc.bodies.map((body) => {
    const g = new Group();
    g.name = body.name;
    for (const s of body.shapes) {
      const mesh = new Mesh(track(shapeGeometry(s.shape)), track(new MeshStandardMaterial({ color: s.color, roughness: 0.45, metalness: 0.15 })));
      mesh.position.fromArray(s.position);
      mesh.quaternion.fromArray(s.rotation);
      mesh.castShadow = true;
      mesh.receiveShadow = true;
      g.add(mesh);
    }
    root.add(g);
    return g;
  });

  let groundHeight = 0;
  /** Height of the lane label: on the floor, or just above the highest terrain. */
  let labelY = 0;
  let halfWidth = 0.8;
  if (desc.ground.kind === 'heightfield') {
    const terrain = heightfieldMesh(desc.ground, track);
    root.add(terrain);
    groundHeight = Math.min(...desc.ground.heights) + desc.ground.center[1];
    labelY = Math.max(...desc.ground.heights) + desc.ground.center[1] + 0.02;
    halfWidth = Math.max(halfWidth, desc.ground.sizeZ / 2);
  } else {
    groundHeight = desc.ground.height;
    labelY = groundHeight + 0.01;
  }

  // Arrows show a task quantity (a target velocity, a direction); they ride with the root body so they stay in view.
  const arrows: Array<{ obj: Object3D; offset: Vector3 }> = [];
  for (const m of desc.markers) {
    const obj = markerObject(m, track);
    if (obj === null) continue;
    root.add(obj);
    if (m.kind === 'arrow') {
      arrows.push({ obj, offset: new Vector3().fromArray(m.position) });
      if (m.label !== undefined) {
        const tag = textSprite(track, 0.6);
        tag.setText(m.label);
        root.add(tag.sprite);
        const tip = new Vector3().fromArray(m.direction).add(new Vector3().fromArray(m.position));
        arrows.push({ obj: tag.sprite, offset: tip.setX(tip.x + 0.35) });
      }
    }
    if (m.kind === 'goal') halfWidth = Math.max(halfWidth, Math.abs(m.position[2]) + m.radius + 0.3);
  }

  // The lane's name is painted on the floor in front of the robot: a floating label would
  // sit, in perspective, over the robot of the lane behind.
  const label = textSprite(track);
  const plate = new Mesh(track(new PlaneGeometry(2.2, 0.41)), track(new MeshBasicMaterial({ map: label.texture, transparent: true, depthWrite: false })));
  plate.rotation.x = -Math.PI / 2;
  plate.renderOrder = 5;
  root.add(plate);

  return {
    root,
    bodies,
    groundHeight,
    halfWidth,
    update(text) {
      const lead = bodies[0];
      if (lead === undefined) return;
      _root.copy(lead.position);
      for (const a of arrows) a.obj.position.set(_root.x + a.offset.x, a.offset.y, _root.z + a.offset.z);
      plate.position.set(_root.x, labelY, _root.z + 0.6);
      label.setText(text);
    },
    expandBox(box) {
      root.updateMatrixWorld(true); // the layout may have just moved the lane
      _robot.makeEmpty();
      for (const b of bodies) _robot.expandByObject(b);
      if (_robot.isEmpty()) return;
      // The label's footprint at the robot's feet, not the label: over a slope it floats above the highest ground, metres up.
      _label.setFromObject(plate);
      _label.min.y = _label.max.y = _robot.min.y;
      box.union(_robot).union(_label);
    },
    dispose() {
      root.removeFromParent();
      for (const d of disposables) d.dispose();
    },
  };
}

function shapeGeometry(s: ShapeDescription): BufferGeometry {
  switch (s.kind) {
    case 'sphere':
      return new SphereGeometry(s.radius, 24, 16);
    case 'box':
      return new BoxGeometry(2 * s.halfExtents[0], 2 * s.halfExtents[1], 2 * s.halfExtents[2]);
    case 'capsule':
      // three's capsule, like ours, lies along local y; its `length` is the straight part.
      return new CapsuleGeometry(s.radius, 2 * s.halfHeight, 6, 16);
    case 'cylinder':
      return new CylinderGeometry(s.radius, s.radius, 2 * s.halfHeight, 20);
  }
}

/** A real mesh of the heights, shaded darker in the hollows so relief reads. */
function heightfieldMesh(h: HeightfieldDescription, track: <T extends BufferGeometry | Material>(x: T) => T): Mesh {
  // PlaneGeometry lays out (ncols × nrows) vertices row by row; turned flat, row i sits at
  // z = −sizeZ/2 + i·sizeZ/(nrows−1), which is the order of `heights[i·ncols + j]`.
  const geo = track(new PlaneGeometry(h.sizeX, h.sizeZ, h.ncols - 1, h.nrows - 1));
  geo.rotateX(-Math.PI / 2);
  const pos = geo.getAttribute('position') as BufferAttribute;
  let lo = Infinity;
  let hi = -Infinity;
  for (const y of h.heights) {
    lo = Math.min(lo, y);
    hi = Math.max(hi, y);
  }
  const colors = new Float32Array(pos.count * 3);
  const base = new Color(h.color);
  const c = new Color();
  for (let v = 0; v < pos.count; v++) {
    const y = h.heights[v];
    pos.setY(v, y);
    const shade = hi > lo ? 0.7 + 0.45 * ((y - lo) / (hi - lo)) : 1;
    c.copy(base).multiplyScalar(shade);
    c.toArray(colors, 3 * v);
  }
  geo.setAttribute('color', new BufferAttribute(colors, 3));
  geo.computeVertexNormals();
  const mesh = new Mesh(geo, track(new MeshStandardMaterial({ vertexColors: true, roughness: 0.95, flatShading: true })));
  mesh.position.fromArray(h.center);
  mesh.receiveShadow = true;
  mesh.castShadow = true;
  return mesh;
}

function markerObject(m: MarkerDescription, track: <T extends BufferGeometry | Material>(x: T) => T): Object3D | null {
  switch (m.kind) {
    case 'goal': {
      const g = new Group();
      const ring = new Mesh(track(new RingGeometry(m.radius * 0.7, m.radius, 40)), track(new MeshStandardMaterial({ color: m.color, emissive: m.color, emissiveIntensity: 0.4 })));
      ring.rotation.x = -Math.PI / 2;
      ring.position.y = 0.005;
      const disc = new Mesh(track(new CylinderGeometry(m.radius * 0.7, m.radius * 0.7, 0.004, 40)), track(new MeshStandardMaterial({ color: m.color, transparent: true, opacity: 0.35 })));
      const pole = new Mesh(track(new CylinderGeometry(0.01, 0.01, 0.6, 8)), track(new MeshStandardMaterial({ color: '#444444' })));
      pole.position.y = 0.3;
      pole.castShadow = true;
      const flag = new Mesh(track(new BoxGeometry(0.16, 0.1, 0.005)), track(new MeshStandardMaterial({ color: m.color })));
      flag.position.set(0.08, 0.55, 0);
      flag.castShadow = true;
      g.add(ring, disc, pole, flag);
      g.position.fromArray(m.position);
      return g;
    }
    case 'arrow': {
      const dir = new Vector3().fromArray(m.direction);
      const length = Math.max(dir.length(), 0.05);
      const arrow = new ArrowHelper(dir.normalize(), new Vector3(), length, new Color(m.color).getHex(), Math.min(0.25, 0.35 * length), 0.12);
      track(arrow.line.geometry);
      track(arrow.line.material as Material);
      track(arrow.cone.geometry);
      track(arrow.cone.material as Material);
      return arrow;
    }
    case 'text':
      return null; // shown in the HUD with the task parameters
  }
}

/** A camera-facing text label drawn on a canvas; redrawn only when its text changes. */
function textSprite(track: <T extends Material | CanvasTexture>(x: T) => T, scale = 1): { sprite: Sprite; texture: CanvasTexture; setText(text: string): void } {
  const canvas = document.createElement('canvas');
  canvas.width = 512;
  canvas.height = 96;
  const ctx = canvas.getContext('2d')!;
  const texture = track(new CanvasTexture(canvas));
  texture.colorSpace = SRGBColorSpace;
  const sprite = new Sprite(track(new SpriteMaterial({ map: texture, depthTest: false, transparent: true })));
  sprite.scale.set(1.6 * scale, 0.3 * scale, 1);
  sprite.renderOrder = 10;
  let current = '';
  return {
    sprite,
    texture,
    setText(text) {
      if (text === current) return;
      current = text;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.font = '600 40px system-ui, sans-serif';
      const w = Math.min(canvas.width - 8, ctx.measureText(text).width + 40);
      ctx.fillStyle = 'rgba(20, 28, 40, 0.72)';
      ctx.beginPath();
      ctx.roundRect((canvas.width - w) / 2, 14, w, 68, 34);
      ctx.fill();
      ctx.fillStyle = '#ffffff';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(text, canvas.width / 2, 49, canvas.width - 40);
      texture.needsUpdate = true;
    },
  };
}
