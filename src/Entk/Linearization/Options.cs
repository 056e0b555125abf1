using Entk.Kernels;

namespace Entk.Linearization
{
    /// <summary>
    /// The two kernel-regression predictors of docs/paper-notes.md §1.9 (the author's <c>LinearisedPredictor</c>), with
    /// the flattened eNTK K in sample-major order (row r = n·C + c: sample n, output c), train inputs X (N samples),
    /// targets Y flattened the same way, and an absolute ridge λ.
    /// </summary>
    public enum LinearizationVariant
    {
        /// <summary>
        /// "Expand around model": f_lin(x) = f(x) + K(x, X)·(K(X, X) + λI)⁻¹·(Y − f(X)), the first-order Taylor expansion of
        /// the network around its current parameters θ, moved by the ridge-regularised minimum-norm step
        /// δθ = J̃ᵀ(K + λI)⁻¹(Y − f(X)).
        /// </summary>
        ExpandAroundModel,

        /// <summary>"Pure NTK": f_lin(x) = K(x, X)·(K(X, X) + λI)⁻¹·Y, kernel ridge regression around a zero function.</summary>
        PureNtk,
    }

    /// <summary>How the regularised system (K(X, X) + λI)·α = v is solved (requested method).</summary>
    public enum LinearSolveMethod
    {
        /// <summary>
        /// Choose within the memory budget: <see cref="ParameterSide"/> when P ≤ N·C and it fits, otherwise
        /// <see cref="DenseCholesky"/> when the N·C × N·C kernel fits, otherwise <see cref="ConjugateGradient"/>.
        /// </summary>
        Auto,

        /// <summary>
        /// Exact, never forms the N·C × N·C kernel: with K = J̃J̃ᵀ and the P × P Gram matrix G = J̃ᵀJ̃ (the model's
        /// structured rule, or from the explicit Jacobian), u = (G + λI)⁻¹J̃ᵀv by Cholesky and α = (v − J̃u)/λ
        /// (Woodbury: (J̃J̃ᵀ + λI)⁻¹ = (1/λ)(I − J̃(J̃ᵀJ̃ + λI)⁻¹J̃ᵀ)). Predictions need only δθ = J̃ᵀα = u.
        /// </summary>
        ParameterSide,

        /// <summary>Forms K(X, X) (N·C × N·C) and solves by Cholesky of K + λI.</summary>
        DenseCholesky,

        /// <summary>
        /// Matrix-free conjugate gradient on the kernel operator v ↦ (K + λI)v (<see cref="EmpiricalNtk.Operator"/>:
        /// structured products or NTK-vector products), preconditioned by a randomised Nyström approximation of K
        /// (Frangella, Tropp and Udell 2023); reports iterations and the true relative residual.
        /// </summary>
        ConjugateGradient,
    }

    /// <summary>Which route a solve actually took.</summary>
    public enum LinearSolveRoute
    {
        /// <summary>P × P Gram matrix and Cholesky (Woodbury identity); the N·C × N·C kernel was never formed.</summary>
        ParameterSideCholesky,

        /// <summary>The explicit N·C × N·C kernel and its Cholesky factor.</summary>
        DenseCholesky,

        /// <summary>Nyström-preconditioned conjugate gradient on the matrix-free kernel operator.</summary>
        ConjugateGradient,
    }

    /// <summary>Options of kernel regression with the flattened eNTK. All members have documented defaults.</summary>
    public sealed record KernelRegressionOptions
    {
        /// <summary>The solve method (default <see cref="LinearSolveMethod.Auto"/>).</summary>
        public LinearSolveMethod Method { get; init; } = LinearSolveMethod.Auto;

        /// <summary>
        /// eNTK options (default: none, i.e. method Auto, no importance rescaling, the default memory budget). With
        /// importances and β ≠ 0 the kernel is K̃ = D K D, D = diag(I_c^{β/2}), and J̃ = D J. The memory budget bounds every route.
        /// </summary>
        public NtkOptions? Ntk { get; init; }

        /// <summary>Conjugate gradient: stop when ‖v − (K + λI)α‖ ≤ Tolerance·‖v‖ for every right-hand side (default 1e-10).</summary>
        public double Tolerance { get; init; } = 1e-10;

        /// <summary>Conjugate gradient: the most iterations (default null: N·C, at most 10,000).</summary>
        public int? MaxIterations { get; init; }

        /// <summary>
        /// Conjugate gradient: rank ℓ of the Nyström preconditioner (ℓ operator applications once per fit; 0 = plain CG).
        /// Default null: min(N·C, 256), lowered to fit the memory budget. A rank at least the numerical rank of K
        /// (at most P) makes the preconditioned system nearly the identity.
        /// </summary>
        public int? PreconditionerRank { get; init; }

        /// <summary>Seed of the Nyström sketch (default 0). The solution does not depend on it beyond the tolerance.</summary>
        public long Seed { get; init; }
    }

    /// <summary>How <see cref="GradientDescentMse"/> diagonalises K(X, X).</summary>
    public enum DynamicsMethod
    {
        /// <summary><see cref="ParameterSide"/> when P ≤ N·C and it fits the memory budget, otherwise <see cref="DenseKernel"/>.</summary>
        Auto,

        /// <summary>
        /// Eigendecomposition of the P × P Gram matrix G = J̃ᵀJ̃ = W Λ Wᵀ: the non-zero eigenvalues of K are those of G and its
        /// eigenvectors are J̃W Λ^(−1/2); K's null space is handled in closed form. The N·C × N·C kernel is never formed.
        /// </summary>
        ParameterSide,

        /// <summary>Eigendecomposition K = V Λ Vᵀ of the explicit N·C × N·C kernel.</summary>
        DenseKernel,
    }

    /// <summary>Options of <see cref="GradientDescentMse"/>. All members have documented defaults.</summary>
    public sealed record GradientDescentMseOptions
    {
        /// <summary>Learning rate η (default 1). Time t counts steps: the absolute time of gradient flow is η·t.</summary>
        public double LearningRate { get; init; } = 1.0;

        /// <summary>Absolute ridge ρ ≥ 0 added to the train kernel, K + ρI (neural-tangents' <c>diag_reg</c> with absolute scale; default 0).</summary>
        public double Ridge { get; init; }

        /// <summary>How K is diagonalised (default <see cref="DynamicsMethod.Auto"/>).</summary>
        public DynamicsMethod Method { get; init; } = DynamicsMethod.Auto;

        /// <summary>eNTK options (importance rescaling, method, memory budget, progress); default none.</summary>
        public NtkOptions? Ntk { get; init; }
    }
}
