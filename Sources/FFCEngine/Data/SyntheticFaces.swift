// Data/SyntheticFaces: procedural face-like identities for tests, demos and scale studies.
//
// An identity code — drawn only from (seed, identity) — fixes head shape, skin, hair and eye
// colours, hair style, eye/brow/nose/mouth geometry, beard, glasses and moles. Each image
// (variant) of it adds nuisance drawn from (seed, identity, variant): pose (shift, in-plane
// rotation, scale, a yaw-like sideways shift of the features), lighting gradient, expression
// (mouth opening, smile, eye openness), background, blur, sensor noise and partial occlusion.
// So identity is recognisable only through features that survive the nuisance.
//
// Rendering is rasterisation of soft-edged rotated ellipses (and rings) in image space, each
// only over its bounding box: about 1.5 passes over the pixels per image.
import Foundation

public enum SyntheticFaces {
    /// The RGB pixels (HWC, size × size × 3) of image `variant` of `identity`.
    public static func render(identity: Int, variant: Int, size: Int, seed: UInt64) -> [UInt8] {
        let code = IdentityCode(identity: identity, seed: seed)
        var canvas = Canvas(size: size)
        var rng = SeededRandom(seed: seed, 11, UInt64(identity), UInt64(variant))
        code.draw(on: &canvas, nuisance: Nuisance(&rng), rng: &rng)
        return canvas.bytes(noise: rng.uniform(1, 6), rng: &rng)
    }

    /// Images of `identity` for a long-tailed set: a Pareto-like count in 1…maxImages (about
    /// half the identities get 1–2 images, a few get many), as in real face collections.
    public static func longTailCount(identity: Int, seed: UInt64, maxImages: Int) -> Int {
        var rng = SeededRandom(seed: seed, 12, UInt64(identity))
        let u = max(rng.unit(), 1e-6)
        let count = Int(powf(u, -1.0 / 1.1))
        return min(max(count, 1), maxImages)
    }
}

/// RGB floats (0…255) with soft-edged shape filling.
struct Canvas {
    let size: Int
    var pixels: [Float]

    init(size: Int) {
        self.size = size
        pixels = [Float](repeating: 0, count: size * size * 3)
    }

    /// Fills a vertical gradient from `top` to `bottom`.
    mutating func gradient(top: SIMD3<Float>, bottom: SIMD3<Float>) {
        for y in 0..<size {
            let t = Float(y) / Float(size - 1)
            let c = top * (1 - t) + bottom * t
            let row = y * size * 3
            pixels.withUnsafeMutableBufferPointer { p in
                for i in stride(from: row, to: row + size * 3, by: 3) {
                    p[i] = c.x
                    p[i + 1] = c.y
                    p[i + 2] = c.z
                }
            }
        }
    }

    /// Blends an ellipse centred at (cx, cy) pixels, radii (rx, ry), rotated by `angle`
    /// radians. With `ring` > 0 only the outer band of that relative width is drawn.
    mutating func ellipse(
        _ cx: Float, _ cy: Float, _ rx: Float, _ ry: Float, angle: Float, color: SIMD3<Float>,
        alpha: Float = 1, ring: Float = 0
    ) {
        guard rx > 0.3, ry > 0.3 else { return }
        let reach = max(rx, ry) + 1
        let x0 = max(0, Int(cx - reach))
        let x1 = min(size - 1, Int(cx + reach))
        let y0 = max(0, Int(cy - reach))
        let y1 = min(size - 1, Int(cy + reach))
        guard x0 <= x1, y0 <= y1 else { return }
        let c = cosf(angle)
        let s = sinf(angle)
        let edge = min(rx, ry)  // pixels from the rim to the centre along the short axis
        let reachSquared = (1 + 0.5 / edge) * (1 + 0.5 / edge)  // where the soft rim ends
        let inner = max(0, 1 - 0.5 / edge)
        let innerSquared = inner * inner  // fully covered inside this
        // d²(dx) = qa·dx² + qb·dx + qc along a row: solve for the covered span of each row.
        let ax = c / rx
        let ay = s / rx
        let bx = -s / ry
        let by = c / ry
        let qa = ax * ax + bx * bx
        let size = self.size
        pixels.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for y in y0...y1 {
                let dy = Float(y) + 0.5 - cy
                let qb = 2 * dy * (ax * ay + bx * by)
                let qc = dy * dy * (ay * ay + by * by)
                let disc = qb * qb - 4 * qa * (qc - reachSquared)
                if disc <= 0 { continue }
                let root = disc.squareRoot()
                let lo = (-qb - root) / (2 * qa) + cx - 0.5
                let hi = (-qb + root) / (2 * qa) + cx - 0.5
                let xs = max(x0, Int(lo.rounded(.up)))
                let xe = min(x1, Int(hi.rounded(.down)))
                if xs > xe { continue }
                let row = base + y * size * 3
                for x in xs...xe {
                    let dx = Float(x) + 0.5 - cx
                    let u = dx * ax + dy * ay
                    let v = dx * bx + dy * by
                    let d2 = u * u + v * v
                    var a = alpha
                    if d2 > innerSquared || ring > 0 {
                        let d = d2.squareRoot()
                        var cover = min(1, max(0, (1 - d) * edge + 0.5))
                        if ring > 0 { cover = min(cover, max(0, min(1, (d - (1 - ring)) * edge + 0.5))) }
                        if cover <= 0 { continue }
                        a *= cover
                    }
                    let p = row + x * 3
                    p[0] += (color.x - p[0]) * a
                    p[1] += (color.y - p[1]) * a
                    p[2] += (color.z - p[2]) * a
                }
            }
        }
    }

    /// Fills an axis-aligned rectangle (an occluder).
    mutating func rectangle(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, color: SIMD3<Float>) {
        for y in max(0, y0)..<min(size, y1) {
            for x in max(0, x0)..<min(size, x1) {
                let i = (y * size + x) * 3
                pixels[i] = color.x
                pixels[i + 1] = color.y
                pixels[i + 2] = color.z
            }
        }
    }

    /// Multiplies by 1 + strength · (position · direction): light from one side.
    mutating func light(direction: SIMD2<Float>, strength: Float, brightness: Float) {
        let size = self.size
        let half = Float(size) / 2
        pixels.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for y in 0..<size {
                let py: Float = (Float(y) - half) / half * direction.y
                let row = base + y * size * 3
                for x in 0..<size {
                    let px: Float = (Float(x) - half) / half * direction.x
                    let g: Float = brightness * (1 + strength * (px + py))
                    let p = row + x * 3
                    p[0] *= g
                    p[1] *= g
                    p[2] *= g
                }
            }
        }
    }

    /// One pass of a 3×3 box blur (separable: rows, then columns; borders kept).
    mutating func blur() {
        let size = self.size
        let stride = size * 3
        var rows = pixels
        rows.withUnsafeMutableBufferPointer { tmp in
            pixels.withUnsafeMutableBufferPointer { img in
                let t = tmp.baseAddress!
                let p = img.baseAddress!
                for y in 0..<size {
                    let r = y * stride
                    for i in (r + 3)..<(r + stride - 3) { t[i] = p[i - 3] + p[i] + p[i + 3] }
                }
                let third: Float = 1.0 / 9.0
                for y in 1..<(size - 1) {
                    let r = y * stride
                    for i in (r + 3)..<(r + stride - 3) { p[i] = (t[i - stride] + t[i] + t[i + stride]) * third }
                }
            }
        }
    }

    /// Clamped bytes with uniform sensor noise of ±`noise` grey levels (four 16-bit draws
    /// per generator step keep it cheap).
    func bytes(noise: Float, rng: inout SeededRandom) -> [UInt8] {
        let count = pixels.count
        let amplitude = 2 * noise / 65536
        var local = rng
        let out = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            pixels.withUnsafeBufferPointer { src in
                var i = 0
                while i < count {
                    var r = local.next()
                    for _ in 0..<4 where i < count {
                        let v: Float = src[i] + (Float(r & 0xFFFF) - 32768) * amplitude + 0.5
                        out[i] = UInt8(min(255, max(0, v)))
                        r >>= 16
                        i += 1
                    }
                }
            }
            initialized = count
        }
        rng = local
        return out
    }
}

/// Per-image nuisance: pose, lighting, expression, degradations.
struct Nuisance {
    var shift: SIMD2<Float>
    var rotation: Float
    var scale: Float
    var yaw: Float
    var lightDirection: SIMD2<Float>
    var lightStrength: Float
    var brightness: Float
    var mouthOpen: Float
    var smile: Float
    var eyeOpen: Float
    var blurPasses: Int
    var occlude: Bool
    var background: (SIMD3<Float>, SIMD3<Float>)

    init(_ rng: inout SeededRandom) {
        shift = SIMD2(rng.uniform(-0.06, 0.06), rng.uniform(-0.06, 0.06))
        rotation = rng.gaussian() * 0.12
        scale = rng.uniform(0.9, 1.1)
        yaw = rng.uniform(-0.12, 0.12)
        let theta = rng.uniform(0, 2 * .pi)
        lightDirection = SIMD2(cosf(theta), sinf(theta))
        lightStrength = rng.uniform(0, 0.35)
        brightness = rng.uniform(0.75, 1.2)
        mouthOpen = rng.unit() < 0.35 ? rng.uniform(0.2, 1) : 0
        smile = rng.uniform(-0.3, 1)
        eyeOpen = rng.unit() < 0.1 ? rng.uniform(0.1, 0.4) : rng.uniform(0.75, 1.1)
        let blurDraw = rng.unit()
        blurPasses = blurDraw < 0.6 ? 0 : (blurDraw < 0.9 ? 1 : 2)
        occlude = rng.unit() < 0.25
        let base = SIMD3(rng.uniform(30, 220), rng.uniform(30, 220), rng.uniform(30, 220))
        background = (base, base * rng.uniform(0.5, 1.1))
    }
}

/// What makes one synthetic person: drawn from (seed, identity) only.
struct IdentityCode {
    var headWidth: Float  // half-widths and half-heights relative to the image half-size
    var headHeight: Float
    var jaw: Float
    var skin: SIMD3<Float>
    var hair: SIMD3<Float>
    var iris: SIMD3<Float>
    var lips: SIMD3<Float>
    var hairline: Float
    var hairVolume: Float
    var longHair: Bool
    var eyeSpacing: Float
    var eyeHeight: Float
    var eyeSize: Float
    var eyeTilt: Float
    var browThickness: Float
    var browAngle: Float
    var browLift: Float
    var noseLength: Float
    var noseWidth: Float
    var mouthWidth: Float
    var mouthHeight: Float
    var lipThickness: Float
    var earSize: Float
    var beard: Float
    var glasses: Bool
    var moles: [SIMD3<Float>]  // x, y, radius in face units

    init(identity: Int, seed: UInt64) {
        var r = SeededRandom(seed: seed, 10, UInt64(identity))
        headWidth = r.uniform(0.46, 0.62)
        headHeight = r.uniform(0.6, 0.76)
        jaw = r.uniform(0.65, 0.95)
        let tone = r.uniform(0, 1)
        skin = SIMD3(255, 224, 196) * (1 - tone) + SIMD3(92, 58, 40) * tone
        skin += SIMD3(r.gaussian() * 10, r.gaussian() * 8, r.gaussian() * 8)
        let hairTone = r.unit() * r.unit()  // dark hair is commoner
        hair = SIMD3(20, 14, 10) * (1 - hairTone) + SIMD3(210, 170, 110) * hairTone
        if r.unit() < 0.15 { hair = SIMD3(repeating: r.uniform(120, 230)) }
        iris = SIMD3(r.uniform(30, 140), r.uniform(40, 140), r.uniform(20, 160))
        lips = skin * SIMD3(r.uniform(0.7, 0.95), r.uniform(0.45, 0.65), r.uniform(0.45, 0.7))
        hairline = r.uniform(0.45, 0.8)
        hairVolume = r.uniform(1.0, 1.25)
        longHair = r.unit() < 0.4
        eyeSpacing = r.uniform(0.17, 0.27)
        eyeHeight = r.uniform(-0.12, 0.02)
        eyeSize = r.uniform(0.06, 0.1)
        eyeTilt = r.uniform(-0.2, 0.2)
        browThickness = r.uniform(0.015, 0.04)
        browAngle = r.uniform(-0.3, 0.3)
        browLift = r.uniform(0.08, 0.16)
        noseLength = r.uniform(0.14, 0.26)
        noseWidth = r.uniform(0.05, 0.1)
        mouthWidth = r.uniform(0.12, 0.24)
        mouthHeight = r.uniform(0.26, 0.4)
        lipThickness = r.uniform(0.02, 0.05)
        earSize = r.uniform(0.08, 0.14)
        beard = r.unit() < 0.25 ? r.uniform(0.4, 0.9) : 0
        glasses = r.unit() < 0.2
        moles = (0..<Int(r.next() % 4)).map { _ in
            SIMD3(r.uniform(-0.35, 0.35), r.uniform(-0.3, 0.4), r.uniform(0.012, 0.025))
        }
    }

    /// Draws the face with the image's nuisance applied.
    func draw(on canvas: inout Canvas, nuisance n: Nuisance, rng: inout SeededRandom) {
        let half = Float(canvas.size) / 2
        let unit = half * n.scale
        let c = cosf(n.rotation)
        let s = sinf(n.rotation)
        // Face units → pixels; `depth` moves a feature sideways with yaw (nearer features move more).
        func at(_ x: Float, _ y: Float, depth: Float = 1) -> (Float, Float) {
            let fx = x + n.yaw * depth
            return (
                half + (n.shift.x + (fx * c - y * s) * n.scale) * half,
                half + (n.shift.y + (fx * s + y * c) * n.scale) * half
            )
        }
        func blob(
            _ x: Float, _ y: Float, _ rx: Float, _ ry: Float, angle: Float = 0, _ color: SIMD3<Float>,
            alpha: Float = 1, depth: Float = 1, ring: Float = 0
        ) {
            let (px, py) = at(x, y, depth: depth)
            canvas.ellipse(
                px, py, rx * unit, ry * unit, angle: angle + n.rotation, color: color, alpha: alpha, ring: ring)
        }
        canvas.gradient(top: n.background.0, bottom: n.background.1)
        let shade = skin * 0.82
        // Shoulders and neck, then hair behind the head.
        blob(0, 1.05, 0.9, 0.35, skin * 0.5 + hair * 0.3, depth: 0.2)
        blob(0, headHeight * 0.9, headWidth * 0.45, 0.3, shade, depth: 0.4)
        if longHair { blob(0, 0.05, headWidth * 1.25, headHeight * 1.15, hair, depth: 0.3) }
        blob(-headWidth, 0, earSize * 0.6, earSize, shade, depth: 0.3)
        blob(headWidth, 0, earSize * 0.6, earSize, shade, depth: 0.3)
        // Head: cranium plus a narrower jaw.
        blob(0, -0.05, headWidth, headHeight * 0.85, skin, depth: 0.6)
        blob(0, headHeight * 0.25, headWidth * jaw, headHeight * 0.72, skin, depth: 0.6)
        // Hair cap down to the hairline.
        blob(0, -headHeight * (0.2 + hairVolume * 0.6), headWidth * 1.06, headHeight * hairline, hair, depth: 0.5)
        for mole in moles { blob(mole.x, mole.y, mole.z, mole.z, skin * 0.45, depth: 0.9) }
        if beard > 0 {
            blob(0, headHeight * 0.55, headWidth * jaw * 0.85, headHeight * 0.35, hair, alpha: beard, depth: 0.8)
        }
        // Eyes and brows, mirrored.
        for side: Float in [-1, 1] {
            let ex = side * eyeSpacing
            blob(ex, eyeHeight, eyeSize * 1.5, eyeSize * 0.75 * n.eyeOpen, angle: side * eyeTilt, SIMD3(245, 245, 240))
            if n.eyeOpen > 0.3 {
                blob(ex, eyeHeight, eyeSize * 0.6, eyeSize * 0.6 * min(1, n.eyeOpen), iris)
                blob(ex, eyeHeight, eyeSize * 0.28, eyeSize * 0.28 * min(1, n.eyeOpen), SIMD3(10, 10, 10))
            }
            blob(
                ex, eyeHeight - browLift, eyeSize * 1.8, browThickness, angle: side * browAngle, hair * 0.8)
            if glasses {
                blob(ex, eyeHeight, eyeSize * 2.3, eyeSize * 1.7, SIMD3(25, 25, 30), ring: 0.18)
            }
        }
        // Nose: bridge shading and nostrils.
        let noseTip = eyeHeight + noseLength
        blob(0, eyeHeight + noseLength * 0.5, noseWidth * 0.45, noseLength * 0.55, shade, alpha: 0.7, depth: 1.3)
        blob(-noseWidth * 0.5, noseTip, noseWidth * 0.28, noseWidth * 0.18, skin * 0.4, depth: 1.3)
        blob(noseWidth * 0.5, noseTip, noseWidth * 0.28, noseWidth * 0.18, skin * 0.4, depth: 1.3)
        // Mouth: lips, opening with the expression; a smile lifts the corners.
        let mouthY = mouthHeight + 0.02 * n.mouthOpen
        blob(0, mouthY, mouthWidth * (1 + 0.15 * n.smile), lipThickness * (1 + n.mouthOpen), lips, depth: 1.1)
        if n.mouthOpen > 0 {
            blob(0, mouthY, mouthWidth * 0.75, lipThickness * n.mouthOpen * 0.9, SIMD3(60, 20, 25), depth: 1.1)
        }
        for side: Float in [-1, 1] {
            blob(
                side * mouthWidth, mouthY - 0.02 * n.smile, lipThickness * 0.7, lipThickness * 0.5, lips * 0.8,
                depth: 1.1)
        }
        canvas.light(direction: n.lightDirection, strength: n.lightStrength, brightness: n.brightness)
        if n.occlude {
            let size = canvas.size
            let w = Int(rng.uniform(0.2, 0.5) * Float(size))
            let h = Int(rng.uniform(0.1, 0.3) * Float(size))
            let x0 = Int(rng.next() % UInt64(size - w))
            let y0 = Int(rng.next() % UInt64(size - h))
            canvas.rectangle(
                x0, y0, x0 + w, y0 + h, color: SIMD3(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)))
        }
        for _ in 0..<n.blurPasses { canvas.blur() }
    }
}
