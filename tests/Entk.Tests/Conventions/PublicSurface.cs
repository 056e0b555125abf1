using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Entk.Tests.Conventions
{
    /// <summary>The public surface of the three library assemblies, by reflection.</summary>
    internal static class PublicSurface
    {
        public static readonly Assembly Core = typeof(Matrix).Assembly;
        public static readonly Assembly Engine = typeof(EntkRuntime).Assembly;
        public static readonly Assembly Paper = typeof(Entk.Experiments.TmsExperiment).Assembly;

        public static IReadOnlyList<Assembly> Assemblies { get; } = new[] { Core, Engine, Paper };

        public const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

        /// <summary>Every exported type of the three assemblies.</summary>
        public static IEnumerable<Type> Types => Assemblies.SelectMany(a => a.GetExportedTypes()).OrderBy(t => t.FullName, StringComparer.Ordinal);

        public static bool IsStatic(Type t) => t.IsAbstract && t.IsSealed;

        public static bool IsDelegate(Type t) => typeof(Delegate).IsAssignableFrom(t);

        /// <summary>Whether a member was written by hand (not by the compiler for a record, a property or an operator).</summary>
        public static bool IsHandWritten(MemberInfo m) =>
            m.GetCustomAttribute<CompilerGeneratedAttribute>() is null && !m.Name.StartsWith('<');

        /// <summary>Public methods and constructors declared by a type (not inherited from System types, not compiler-generated).</summary>
        public static IEnumerable<MethodBase> Methods(Type t) =>
            t.GetMethods(Declared).Cast<MethodBase>().Concat(t.GetConstructors())
                .Where(m => m.IsPublic && IsHandWritten(m));

        /// <summary>Public properties declared by a type.</summary>
        public static IEnumerable<PropertyInfo> Properties(Type t) => t.GetProperties(Declared).Where(p => p.GetMethod?.IsPublic == true && IsHandWritten(p));

        /// <summary>Whether the setter of a property is public and not init-only.</summary>
        public static bool HasPublicMutableSetter(PropertyInfo p) =>
            p.SetMethod is { IsPublic: true } s && !s.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit));

        /// <summary>Whether the property has a public init-only setter.</summary>
        public static bool HasInitSetter(PropertyInfo p) =>
            p.SetMethod is { IsPublic: true } s && s.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit));

        public static string Name(MemberInfo m) => (m is Type t ? t.FullName : m.DeclaringType!.FullName + "." + m.Name) ?? m.Name;

        /// <summary>Whether a type is, or has among its generic arguments / element types, a tuple.</summary>
        public static bool ContainsTuple(Type t)
        {
            if (t.IsByRef || t.IsArray || t.IsPointer) return ContainsTuple(t.GetElementType()!);
            if (t.IsGenericType)
            {
                var def = t.GetGenericTypeDefinition();
                if (def.FullName is string n && (n.StartsWith("System.ValueTuple`", StringComparison.Ordinal) || n.StartsWith("System.Tuple`", StringComparison.Ordinal))) return true;
                return t.GetGenericArguments().Any(ContainsTuple);
            }
            return false;
        }
    }
}
