using Fused.Ir;

namespace Fused.Search
{
    /// <summary>
    /// Programs a search starts from or compares against, as IR text identical to what the generator
    /// emits for the catalog rules (a test checks it against Fused.Catalog's IrText).
    /// </summary>
    public static class WarmStarts
    {
        public static RuleProgram AdamW() => IrText.Parse(AdamWText);
        public static RuleProgram Lion() => IrText.Parse(LionText);

        public const string AdamWText = @"rule AdamW
buffer param Param Element
buffer grad Grad Element
buffer m State Element
buffer v State Element
hyper lr 0.001
hyper beta1 0.9
hyper beta2 0.999
hyper eps 1E-08
hyper weightDecay 0.01
%0 = Load 0
%1 = Hyper 0
%2 = Hyper 4
%3 = Mul %2 %0
%4 = Hyper 1
%5 = Load 2
%6 = Mul %4 %5
%7 = Load 1
%8 = Const 3F800000
%9 = Sub %8 %4
%10 = Mul %7 %9
%11 = Add %6 %10
%12 = Step
%13 = Pow %4 %12
%14 = Sub %8 %13
%15 = Div %11 %14
%16 = Hyper 3
%17 = Hyper 2
%18 = Load 3
%19 = Mul %17 %18
%20 = Sub %8 %17
%21 = Mul %7 %20
%22 = Mul %7 %21
%23 = Add %19 %22
%24 = Pow %17 %12
%25 = Sub %8 %24
%26 = Div %23 %25
%27 = Sqrt %26
%28 = Add %16 %27
%29 = Div %15 %28
%30 = Add %3 %29
%31 = Mul %1 %30
%32 = Sub %0 %31
out 0 %32
out 2 %11
out 3 %23
stmt 2 %11 ""m"" ""m = beta1 * m + (1 - beta1) * grad;""
stmt 3 %23 ""v"" ""v = beta2 * v + (1 - beta2) * grad * grad;""
stmt -1 %15 ""mHat"" ""var mHat = m / (1 - Pow(beta1, t));""
stmt -1 %26 ""vHat"" ""var vHat = v / (1 - Pow(beta2, t));""
stmt 0 %32 ""param"" ""param -= lr * (mHat / (Sqrt(vHat) + eps) + weightDecay * param);""
";
        public const string LionText = @"rule Lion
buffer param Param Element
buffer grad Grad Element
buffer momentum State Element
hyper lr 0.0001
hyper beta1 0.9
hyper beta2 0.99
hyper weightDecay 0
%0 = Load 0
%1 = Hyper 0
%2 = Hyper 3
%3 = Mul %2 %0
%4 = Hyper 1
%5 = Load 2
%6 = Mul %4 %5
%7 = Load 1
%8 = Const 3F800000
%9 = Sub %8 %4
%10 = Mul %7 %9
%11 = Add %6 %10
%12 = Sign %11
%13 = Add %3 %12
%14 = Mul %1 %13
%15 = Sub %0 %14
%16 = Hyper 2
%17 = Mul %16 %5
%18 = Sub %8 %16
%19 = Mul %7 %18
%20 = Add %17 %19
out 0 %15
out 2 %20
stmt -1 %12 ""update"" ""var update = Sign(beta1 * momentum + (1 - beta1) * grad);""
stmt 0 %15 ""param"" ""param -= lr * (update + weightDecay * param);""
stmt 2 %20 ""momentum"" ""momentum = beta2 * momentum + (1 - beta2) * grad;""
";
    }
}
