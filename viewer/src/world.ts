/**
 * What every env shares: renderer, sky gradient, fog, sun with soft shadows that follow
 * the camera's target, and a wide checkered floor (one for all lanes, so plane grounds
 * do not fight each other; heightfields are drawn per env by scene.ts).
 */
import {
  ACESFilmicToneMapping,
  BackSide,
  CanvasTexture,
  Color,
  DirectionalLight,
  Fog,
  HemisphereLight,
  Mesh,
  MeshStandardMaterial,
  PCFShadowMap,
  PerspectiveCamera,
  PlaneGeometry,
  RepeatWrapping,
  Scene,
  ShaderMaterial,
  SphereGeometry,
  SRGBColorSpace,
  Vector3,
  WebGLRenderer,
} from 'three';

const SKY_TOP = '#3d7cc9';
const SKY_HORIZON = '#dfe8ef';
const FLOOR_SIZE = 400;

export interface World {
  renderer: WebGLRenderer;
  scene: Scene;
  camera: PerspectiveCamera;
  /** Keeps the sun's shadow box around `target`, big enough for `radius`. */
  aimSun(target: Vector3, radius: number): void;
  /** Floor height and colour (from the envs' plane ground). */
  setFloor(height: number, color: string): void;
}

/**
 * Software WebGL (SwiftShader, llvmpipe: headless browsers, VMs without a GPU) draws a
 * few frames a second at full quality; there the page drops multisampling and shrinks
 * the shadow map, which keeps it smooth. `?quality=high|low` in the URL overrides.
 */
function softwareRenderer(): boolean {
  const forced = new URLSearchParams(location.search).get('quality');
  if (forced === 'high' || forced === 'low') return forced === 'low';
  const gl = document.createElement('canvas').getContext('webgl2');
  if (gl === null) return true;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(gl.getParameter(info === null ? gl.RENDERER : info.UNMASKED_RENDERER_WEBGL));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return /swiftshader|llvmpipe|software|basic render/i.test(name);
}

export function createWorld(container: HTMLElement): World {
  const low = softwareRenderer();
  // preserveDrawingBuffer: screenshots and tests read the canvas after it was shown.
  const renderer = new WebGLRenderer({ antialias: !low, preserveDrawingBuffer: true, powerPreference: 'high-performance' });
  renderer.setPixelRatio(low ? 1 : Math.min(window.devicePixelRatio, 2));
  renderer.setSize(container.clientWidth, container.clientHeight);
  renderer.shadowMap.enabled = true;
  renderer.shadowMap.type = PCFShadowMap;
  renderer.toneMapping = ACESFilmicToneMapping;
  renderer.outputColorSpace = SRGBColorSpace;
  container.appendChild(renderer.domElement);

  const scene = new Scene();
  scene.background = new Color(SKY_HORIZON);
  scene.fog = new Fog(SKY_HORIZON, 25, 120);
  scene.add(sky());

  const camera = new PerspectiveCamera(45, container.clientWidth / container.clientHeight, 0.05, 500);

  scene.add(new HemisphereLight('#cfe3ff', '#6b5a45', 1.1));
  const sun = new DirectionalLight('#fff4e0', 2.4);
  sun.castShadow = true;
  sun.shadow.mapSize.setScalar(low ? 1024 : 2048);
  sun.shadow.bias = -0.0005;
  sun.shadow.normalBias = 0.02;
  sun.shadow.radius = 3;
  scene.add(sun, sun.target);

  const floorMaterial = new MeshStandardMaterial({ map: checkerTexture(low ? 1 : 8), roughness: 0.9, metalness: 0 });
  const floor = new Mesh(new PlaneGeometry(FLOOR_SIZE, FLOOR_SIZE), floorMaterial);
  floor.rotation.x = -Math.PI / 2;
  floor.receiveShadow = true;
  scene.add(floor);

  return {
    renderer,
    scene,
    camera,
    aimSun(target, radius) {
      sun.position.set(target.x + 4, target.y + 10, target.z + 6);
      sun.target.position.copy(target);
      const cam = sun.shadow.camera;
      const r = Math.max(4, radius);
      if (cam.right !== r) {
        cam.left = -r;
        cam.right = r;
        cam.top = r;
        cam.bottom = -r;
        cam.far = 40;
        cam.updateProjectionMatrix();
      }
      // The floor is finite: recentre it under the action by whole texture tiles (2 m), so the pattern stays put.
      floor.position.x = Math.round(target.x / 2) * 2;
      floor.position.z = Math.round(target.z / 2) * 2;
    },
    setFloor(height, color) {
      floor.position.y = height - 0.001;
      floorMaterial.color.set(color).lerp(new Color('#ffffff'), 0.35);
    },
  };
}

/** A big inverted sphere with a vertical gradient: depth reads better than a flat colour. */
function sky(): Mesh {
  const material = new ShaderMaterial({
    side: BackSide,
    depthWrite: false,
    fog: false,
    uniforms: { top: { value: new Color(SKY_TOP) }, horizon: { value: new Color(SKY_HORIZON) } },
    vertexShader: `varying vec3 vDir; void main() { vDir = normalize(position); gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0); }`,
    fragmentShader: `uniform vec3 top; uniform vec3 horizon; varying vec3 vDir;
      void main() { float h = clamp(vDir.y, 0.0, 1.0); gl_FragColor = vec4(mix(horizon, top, pow(h, 0.6)), 1.0);
      #include <colorspace_fragment>
      }`,
  });
  const mesh = new Mesh(new SphereGeometry(300, 32, 16), material);
  mesh.frustumCulled = false;
  mesh.onBeforeRender = (_r, _s, camera) => mesh.position.copy(camera.position);
  return mesh;
}

/** 1 m checker cells with thin lines: motion and distance read against it. */
function checkerTexture(anisotropy: number): CanvasTexture {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 256;
  const ctx = canvas.getContext('2d')!;
  const half = canvas.width / 2;
  ctx.fillStyle = '#e4e4e0';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#cfd0cc';
  ctx.fillRect(0, 0, half, half);
  ctx.fillRect(half, half, half, half);
  ctx.strokeStyle = 'rgba(90, 90, 90, 0.35)';
  ctx.lineWidth = 2;
  ctx.strokeRect(0, 0, canvas.width, canvas.height);
  ctx.beginPath();
  ctx.moveTo(half, 0);
  ctx.lineTo(half, canvas.height);
  ctx.moveTo(0, half);
  ctx.lineTo(canvas.width, half);
  ctx.stroke();
  const tex = new CanvasTexture(canvas);
  tex.wrapS = tex.wrapT = RepeatWrapping;
  tex.repeat.set(FLOOR_SIZE / 2, FLOOR_SIZE / 2);
  tex.colorSpace = SRGBColorSpace;
  tex.anisotropy = anisotropy;
  return tex;
}
